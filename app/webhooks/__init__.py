"""Callback (webhook) delivery: Standard Webhooks signing, the private-address guard, one-shot sends.

Retries are not done here: the worker's job queue owns the schedule (``backoff_delay``) so a retry
survives restarts. ``WebhookSender.send`` makes exactly one attempt and classifies the outcome.
"""
