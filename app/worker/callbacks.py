"""Callbacks: queued after the outcome is known, delivered at least once with backoff.

Each callback is its own durable job (the ``deliveries`` store), so a slow or failing receiver never
holds up a submission, and its webhook-id stays the same across retries for de-duplication.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from app.settings import Settings
from app.store.base import TxStore
from app.txs.model import Delivery, TxRecord
from app.webhooks.delivery import WebhookSender, backoff_delay
from app.worker.metrics import Metrics

log = logging.getLogger("refractor.callbacks")
RETRY_BASE_MS = 1000


def callback_payload(record: TxRecord) -> dict[str, Any]:
    result = record.result or {}
    return {
        "hash": record.hash,
        "network": record.network,
        "status": record.status.value,
        "xdr": record.derived.get("xdr") or record.xdr,
        "submitted": record.submitted,
        "error": record.error,
        "result": {k: result.get(k) for k in ("ledger", "successful", "transactionCode",
                                              "operationCodes", "resultXdr") if k in result}
        or None,
    }


def delivery_id(record: TxRecord) -> str:
    digest = hashlib.sha256(f"{record.hash}:{record.status.value}".encode()).hexdigest()
    return "msg_" + digest[:32]


class CallbackQueue:
    def __init__(self, settings: Settings, store: TxStore, sender: WebhookSender, metrics: Metrics,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.sender = sender
        self.metrics = metrics
        self.clock = clock

    def enqueue(self, record: TxRecord) -> None:
        if not record.callback_url:
            return
        now = self.clock()
        self.store.add_delivery(Delivery(delivery_id(record), record.hash, record.callback_url,
                                         callback_payload(record), now, now))

    def deliver(self, delivery: Delivery, owner: str) -> None:
        result = self.sender.send(delivery.url, delivery.id, delivery.payload)
        now = self.clock()
        attempts = delivery.attempts + 1
        attempt = {"attempt": attempts, "at": round(now, 3), "status": result.status,
                   "error": result.error, "durationMs": round(result.duration_ms, 1)}
        fields: dict[str, Any] = {"attempts": attempts, "last_error": result.error}
        if result.ok:
            fields["status"] = "delivered"
            self.metrics.count("callbacks_delivered")
        elif result.permanent or attempts >= self.settings.callbacks.attempts:
            fields["status"] = "failed"
            self.metrics.count("callbacks_failed")
            log.warning("callback failed", extra={"fields": {"hash": delivery.tx_hash,
                                                             "error": result.error}})
        else:
            fields["due_at"] = now + backoff_delay(attempts, RETRY_BASE_MS)
            self.metrics.count("callbacks_retried")
        self.store.finish_attempt(delivery.id, owner, attempt, fields)
