"""The ``deliver_event`` job: a subscription's pending events of one transaction, sent in order.

Same guarantees as callbacks: signed (Standard Webhooks, with the subscription's own secret),
SSRF-guarded, one hard deadline per attempt, retried with the callbacks' backoff, capped per
receiver host, each attempt logged on the event (the subscriber's delivery log).
"""

from __future__ import annotations

import logging

from app.jobs.model import Dead, Done, Job, Outcome, Retry
from app.jobs.runner import JobContext
from app.store.cosigners import CosignerStore
from app.webhooks.delivery import WebhookSender
from app.worker.metrics import Metrics

log = logging.getLogger("refractor.events")


class EventDeliveries:
    def __init__(self, sender: WebhookSender, store: CosignerStore, metrics: Metrics) -> None:
        self.sender = sender
        self.store = store
        self.metrics = metrics

    def __call__(self, job: Job, ctx: JobContext) -> Outcome:
        sub = self.store.get_subscription(str(job.data.get("subscription")))
        if sub is None:
            return Done({"at": round(ctx.now(), 3), "note": "subscription deleted"})
        sent = 0
        for event in self.store.pending_events(sub.id, str(job.data.get("stream"))):
            ctx.require()  # only the lease holder sends
            result = self.sender.send(sub.url, event.id, event.payload, secret=sub.secret)
            entry = {"attempt": event.attempts + 1, "at": round(ctx.now(), 3),
                     "status": result.status, "error": result.error,
                     "durationMs": round(result.duration_ms, 1)}
            if result.ok:
                self.store.finish_event(event.id, "delivered", entry, None)
                self.metrics.count("events_delivered")
                sent += 1
                continue
            error = result.error or "failed"
            if result.permanent or ctx.final_attempt:
                # Given up: this event and the ones after it (order is kept by never skipping).
                for rest in self.store.pending_events(sub.id, str(job.data.get("stream"))):
                    self.store.finish_event(rest.id, "failed",
                                            entry if rest.id == event.id else
                                            {"at": entry["at"], "error": "an earlier event failed"},
                                            error)
                self.metrics.count("events_failed")
                log.warning("event delivery failed", extra={"fields": {
                    "subscription": sub.id, "error": error}})
                return Dead(error, entry)
            self.store.finish_event(event.id, "pending", entry, error)
            self.metrics.count("events_retried")
            return Retry(error, retry_after=result.retry_after, entry=entry)
        return Done({"at": round(ctx.now(), 3), "sent": sent})
