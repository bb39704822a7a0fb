"""Turns record changes into subscription events: an outbox entry per event and subscriber, and a
``deliver_event`` job per subscription and transaction that sends its entries in order."""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from app.cosigners import events as ev
from app.jobs.kinds import DELIVER_EVENT
from app.jobs.model import Job, job_id
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


class EventNotifier:
    def __init__(self, settings: Settings, store: CosignerStore, add_job: Callable[[Job], object],
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.add_job = add_job
        self.clock = clock
        self.per_hour = settings.subscriptions.events_per_hour
        auth = settings.auth
        self.ui_base = settings.public_url or (f"https://{auth.home_domain}" if auth.home_domain
                                               else None)

    def record_changed(self, before: TxRecord | None, after: TxRecord,
                       added: Iterable[str] = (), expired: bool = False) -> None:
        found = ev.changes(before, after, added, expired)
        if not found:
            return
        concerned = sorted({a for e in found for a in e.accounts})
        subs = self.store.subscriptions_for(concerned)
        if not subs:
            return
        now = self.clock()
        for order, event in enumerate(found):
            # Events of one change are stored a microsecond apart: they are sent by creation
            # time, and equal times would leave their order to the ids.
            at = now + order * 1e-6
            for sub in subs:
                if sub.account in event.accounts and event.type in sub.events:
                    self._queue(sub, after.hash, after.hash, event.type,
                                ev.payload(event.type, after, sub.account, self.ui_base, now), at)

    def outcome(self, before: TxRecord, status: TxStatus, fields: dict[str, Any],
                expired: bool = False) -> None:
        """A worker moved ``before`` to ``status`` with ``fields`` (no read needed)."""
        known = {f.name for f in dataclasses.fields(TxRecord)}
        after = dataclasses.replace(before, status=status,
                                    **{k: v for k, v in fields.items() if k in known})
        self.record_changed(before, after, expired=expired)

    def test(self, sub: Subscription) -> str:
        """Queue a test event to ``sub``; its id."""
        now = self.clock()
        event_id = "msg_" + secrets.token_hex(16)
        self._queue(sub, f"test:{event_id}", None, ev.TEST, ev.test_payload(sub.account, now), now,
                    event_id)
        return event_id

    def _queue(self, sub: Subscription, stream: str, ref: str | None, event_type: str,
               payload: dict[str, Any], now: float, event_id: str | None = None) -> None:
        if not self.store.take_quota(sub.account, int(now // QUOTA_WINDOW), self.per_hour):
            log.warning("event dropped: hourly limit reached", extra={"fields": {
                "account": sub.account, "type": event_type, "limit": self.per_hour}})
            return
        self.store.add_event(EventDelivery(event_id or "msg_" + secrets.token_hex(16), sub.id,
                                           sub.account, stream, event_type, dict(payload), now))
        self.add_job(delivery_job(sub, stream, ref, now))
