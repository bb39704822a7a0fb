"""Callbacks as backups carry them (``Delivery``) and as the queue runs them (``deliver_callback``
jobs): the one conversion both engines use, so archives keep their format."""

from __future__ import annotations

from app.jobs.kinds import DELIVER_CALLBACK
from app.jobs.model import Job, JobState, job_id
from app.txs.model import Delivery
from app.webhooks.delivery import receiver_host

_STATUS = {JobState.SUCCEEDED: "delivered", JobState.DEAD: "failed"}
_STATE = {"delivered": JobState.SUCCEEDED, "failed": JobState.DEAD}


def to_delivery(job: Job) -> Delivery:
    return Delivery(id=str(job.data.get("msgId") or job.id), tx_hash=job.ref or "",
                    url=str(job.data.get("url") or ""), payload=dict(job.data.get("payload") or {}),
                    created_at=job.created_at, due_at=job.due_at,
                    status=_STATUS.get(job.state, "pending"), attempts=job.attempts,
                    last_error=job.last_error, log=list(job.log), lease_owner=job.lease_owner,
                    lease_until=job.lease_until)


def to_job(delivery: Delivery) -> Job:
    """A restored callback, exactly as saved: one that was in flight keeps its lease, which has
    long run out, so the queue takes it over at once."""
    state = _STATE.get(delivery.status, JobState.QUEUED)
    if state is JobState.QUEUED and delivery.lease_owner is not None:
        state = JobState.RUNNING
    return Job(id=job_id(DELIVER_CALLBACK, delivery.id), kind=DELIVER_CALLBACK,
               due_at=delivery.due_at, created_at=delivery.created_at,
               updated_at=delivery.created_at, ref=delivery.tx_hash,
               group=receiver_host(delivery.url), state=state, attempts=delivery.attempts,
               data={"url": delivery.url, "payload": delivery.payload, "msgId": delivery.id},
               log=list(delivery.log), last_error=delivery.last_error,
               lease_owner=delivery.lease_owner, lease_until=delivery.lease_until)
