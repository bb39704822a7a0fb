"""Turns record changes into subscription events, in two steps:

1. where the record changed (a request, a worker job), the change's events are computed (pure)
   and, if a subscription wants one of them (or the co-signer store cannot say), queued as one
   ``raise_events`` job carrying a snapshot of the record: the only write is to the job queue,
   and a co-signer store that fails cannot fail the change that raised them;
2. the ``raise_events`` job finds the subscriptions concerned and writes an outbox entry per
   event and subscriber, and a ``deliver_event`` job per subscription and transaction that
   sends its entries in order. Entry ids are derived from the job, so a retried job writes
   each entry once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from app.cosigners import events as ev
from app.jobs.kinds import DELIVER_EVENT, RAISE_EVENTS
from app.jobs.model import Done, Job, Outcome, job_id
from app.settings import Settings
from app.store.cosigners import CosignerStore, EventDelivery, Subscription
from app.txs.model import TxRecord, TxStatus
from app.webhooks.delivery import receiver_host

log = logging.getLogger("refractor.events")
QUOTA_WINDOW = 3600


def delivery_job(sub: Subscription, stream: str, ref: str | None, now: float) -> Job:
    """One job per subscription and stream: re-armed for each new event, it never runs twice at
    once, so a receiver gets a transaction's events in the order they happened."""
    return Job(id=job_id(DELIVER_EVENT, f"{sub.id}:{stream}"), kind=DELIVER_EVENT, due_at=now,
               created_at=now, updated_at=now, ref=ref, group=receiver_host(sub.url),
               data={"subscription": sub.id, "stream": stream})


def raise_job(after: TxRecord, found: list[ev.Event], now: float) -> Job:
    """The job that turns one change's events into deliveries. Grouped by transaction: with a
    group cap of one, a transaction's changes are raised one at a time, oldest first."""
    return Job(id=job_id(RAISE_EVENTS, f"{after.hash}:{secrets.token_hex(8)}"),
               kind=RAISE_EVENTS, due_at=now, created_at=now, updated_at=now, ref=after.hash,
               group=after.hash,
               data={"at": now, "record": ev.snapshot(after),
                     "events": [{"type": e.type, "accounts": sorted(e.accounts)} for e in found]})


def entry_id(job: Job, subscription: str, order: int) -> str:
    digest = hashlib.sha256(f"{job.id}:{subscription}:{order}".encode()).hexdigest()
    return "msg_" + digest[:32]


class EventNotifier:
    def __init__(self, settings: Settings, store: CosignerStore, add_job: Callable[..., object],
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.add_job = add_job
        self.clock = clock
        self.per_hour = settings.subscriptions.events_per_hour
        auth = settings.auth
        self.ui_base = settings.public_url or (f"https://{auth.home_domain}" if auth.home_domain
                                               else None)

    def record_changed(self, before: TxRecord | None, after: TxRecord,
                       added: Iterable[str] = (), expired: bool = False,
                       add_job: Callable[..., object] | None = None) -> None:
        """Queue the events of going from ``before`` to ``after`` (``add_job``: how, when not
        the default)."""
        found = ev.changes(before, after, added, expired)
        if found and self._wanted(found):
            (add_job or self.add_job)(raise_job(after, found, self.clock()))

    def _wanted(self, found: list[ev.Event]) -> bool:
        """Whether a subscription wants one of these events (most changes concern nobody's:
        they queue no job). When the co-signer store cannot tell, the job finds out later."""
        try:
            subs = self.store.subscriptions_for(sorted({a for e in found for a in e.accounts}))
        except Exception:  # an outage of the co-signer store must not fail the change
            log.warning("subscriptions could not be read; events queued for later",
                        exc_info=True)
            return True
        return any(sub.account in e.accounts and e.type in sub.events
                   for e in found for sub in subs)

    def outcome(self, before: TxRecord, status: TxStatus, fields: dict[str, Any],
                expired: bool = False, add_job: Callable[..., object] | None = None) -> None:
        """A worker moved ``before`` to ``status`` with ``fields`` (no read needed)."""
        self.record_changed(before, after_transition(before, status, fields), expired=expired,
                            add_job=add_job)

    def raise_events(self, job: Job, ctx: Any) -> Outcome:
        """The ``raise_events`` job (``ctx``: its JobContext)."""
        snap = job.data.get("record") or {}
        found = [ev.Event(str(e["type"]), frozenset(e["accounts"]))
                 for e in job.data.get("events") or []]
        concerned = sorted({a for e in found for a in e.accounts})
        subs = self.store.subscriptions_for(concerned) if concerned else []
        at0 = float(job.data.get("at") or job.created_at)
        queued = 0
        for order, event in enumerate(found):
            # Events of one change are stored a microsecond apart: they are sent by creation
            # time, and equal times would leave their order to the ids.
            at = at0 + order * 1e-6
            for sub in subs:
                if sub.account in event.accounts and event.type in sub.events:
                    body = ev.payload(event.type, snap, sub.account, self.ui_base, at0)
                    if self._queue(sub, snap["hash"], snap["hash"], event.type, body, at,
                                   entry_id(job, sub.id, order), ctx.enqueue):
                        queued += 1
        return Done({"at": round(ctx.now(), 3), "queued": queued})

    def test(self, sub: Subscription) -> str:
        """Queue a test event to ``sub``; its id."""
        now = self.clock()
        event_id = "msg_" + secrets.token_hex(16)
        self._queue(sub, f"test:{event_id}", None, ev.TEST, ev.test_payload(sub.account, now), now,
                    event_id, self.add_job)
        return event_id

    def _queue(self, sub: Subscription, stream: str, ref: str | None, event_type: str,
               payload: dict[str, Any], now: float, event_id: str,
               add_job: Callable[..., object]) -> bool:
        if not self.store.take_quota(sub.account, int(now // QUOTA_WINDOW), self.per_hour):
            log.warning("event dropped: hourly limit reached", extra={"fields": {
                "account": sub.account, "type": event_type, "limit": self.per_hour}})
            return False
        self.store.add_event(EventDelivery(event_id, sub.id, sub.account, stream, event_type,
                                           dict(payload), now))
        add_job(delivery_job(sub, stream, ref, now), rearm=True)
        return True


def after_transition(before: TxRecord, status: TxStatus, fields: dict[str, Any]) -> TxRecord:
    """The record a transition to ``status`` with ``fields`` wrote (no read needed)."""
    known = {f.name for f in dataclasses.fields(TxRecord)}
    return dataclasses.replace(before, status=status,
                               **{k: v for k, v in fields.items() if k in known})
