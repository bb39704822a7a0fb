"""Callback (webhook) delivery: Standard Webhooks signing, the private-address guard, one-shot sends.

Retries are not done here: the job queue owns the schedule (``app.jobs.policy.Backoff``) so a
retry survives restarts. ``WebhookSender.send`` makes exactly one attempt and classifies the outcome.
"""
