"""The ``deliver_callback`` job: a record's outcome POSTed to its callback URL, at least once.

Each callback is its own durable job, with its own pool and a cap per receiver host, so a slow or
hostile receiver never holds up a submission or another receiver; its webhook-id stays the same
across retries for de-duplication. Every attempt is logged on the job.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from app.jobs.kinds import DELIVER_CALLBACK as KIND
from app.jobs.model import Dead, Done, Job, Outcome, Retry, job_id
from app.jobs.runner import JobContext
from app.txs.model import TxRecord
from app.webhooks.delivery import WebhookSender, receiver_host
from app.worker.metrics import Metrics

log = logging.getLogger("refractor.callbacks")
_STATUS = {"queued": "pending", "running": "pending", "retry_wait": "pending",
           "waiting": "pending", "succeeded": "delivered", "dead": "failed"}


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


def delivery_job(record: TxRecord, now: float) -> Job | None:
    if not record.callback_url:
        return None
    msg_id = delivery_id(record)
    return Job(id=job_id(KIND, msg_id), kind=KIND, due_at=now, created_at=now, updated_at=now,
               ref=record.hash, group=receiver_host(record.callback_url),
               data={"url": record.callback_url, "payload": callback_payload(record),
                     "msgId": msg_id})


def delivery_view(job: Job) -> dict[str, Any]:
    """A delivery as ``GET /tx/{hash}/deliveries`` shows it (the shape from before the queue)."""
    return {"id": job.data.get("msgId"), "url": job.data.get("url"),
            "status": _STATUS[job.state.value], "attempts": job.attempts,
            "lastError": job.last_error, "log": job.log}


def delivery_counts(counts: dict[str, int]) -> dict[str, int]:
    """Job states as the delivery statuses monitoring reported before (pending/delivered/failed)."""
    out: dict[str, int] = {}
    for state, n in counts.items():
        out[_STATUS.get(state, state)] = out.get(_STATUS.get(state, state), 0) + n
    return out


class CallbackQueue:
    def __init__(self, sender: WebhookSender, metrics: Metrics) -> None:
        self.sender = sender
        self.metrics = metrics

    @staticmethod
    def enqueue(record: TxRecord, add: Callable[[Job], object], now: float | None = None) -> None:
        job = delivery_job(record, time.time() if now is None else now)
        if job is not None:
            add(job)

    def __call__(self, job: Job, ctx: JobContext) -> Outcome:
        url, msg_id = str(job.data.get("url")), str(job.data.get("msgId"))
        payload = job.data.get("payload")
        result = self.sender.send(url, msg_id, payload if isinstance(payload, dict) else {})
        entry = {"attempt": job.attempts, "at": round(ctx.now(), 3), "status": result.status,
                 "error": result.error, "durationMs": round(result.duration_ms, 1)}
        if result.ok:
            self.metrics.count("callbacks_delivered")
            return Done(entry)
        if result.permanent or ctx.final_attempt:
            self.metrics.count("callbacks_failed")
            log.warning("callback failed", extra={"fields": {"hash": job.ref,
                                                             "error": result.error}})
            return Dead(result.error or "failed", entry)
        self.metrics.count("callbacks_retried")
        return Retry(result.error or "failed", retry_after=result.retry_after, entry=entry)
