"""The names of the job kinds, and the job that submits a ready record (enqueued by the API)."""

from __future__ import annotations

from app.jobs.model import Job, job_id
from app.txs.model import TxRecord

SUBMIT_TRANSACTION = "submit_transaction"
DELIVER_CALLBACK = "deliver_callback"
DELIVER_EVENT = "deliver_event"  # subscription events (app.cosigners.notifier, app.worker.events)
# One record change's subscription events, turned into deliveries (app.cosigners.notifier).
RAISE_EVENTS = "raise_events"


def submit_job(record: TxRecord, now: float) -> Job:
    """The job that submits (or, without ``submit``, just finalizes) a ready record, due at its
    ``minTime``."""
    due = max(now, float(record.min_time or 0))
    return Job(id=job_id(SUBMIT_TRANSACTION, record.hash), kind=SUBMIT_TRANSACTION, due_at=due,
               created_at=now, updated_at=now, ref=record.hash)
