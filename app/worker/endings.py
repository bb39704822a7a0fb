"""What follows a record's end, whichever path ended it: a submission's outcome, the ordering
gate, a source review, expiry, or a job given up after internal errors.

Every path calls ``Endings.ended`` once, after its conditional write succeeded, so every end is
counted the same way (``processed``/``failed`` per network, failures by ``reason.code``), raises
the same subscription events (``tx.submitted``, ``tx.failed``, ``tx.expired``, ``tx.stale``,
``tx.superseded``) and queues the record's callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from app.cosigners.notifier import EventNotifier, after_transition
from app.txs import reasons
from app.txs.model import TxRecord, TxStatus
from app.worker.callbacks import CallbackQueue
from app.worker.metrics import Metrics

# A failed record without a reason (written before reasons existed, or an internal error).
UNKNOWN_REASON = "other"


class Endings:
    """``add_job(job, rearm=False)``: how jobs are queued when the caller has no job context."""

    def __init__(self, metrics: Metrics, notifier: EventNotifier | None,
                 add_job: Callable[..., object], clock: Callable[[], float] = time.time) -> None:
        self.metrics = metrics
        self.notifier = notifier
        self.add_job = add_job
        self.clock = clock

    def ended(self, before: TxRecord, status: TxStatus, fields: dict[str, Any],
              add_job: Callable[..., object] | None = None,
              after: TxRecord | None = None, callback: bool = True) -> TxRecord:
        """``before`` was moved to final ``status`` with ``fields`` (``after``: the record as
        written, when the caller has it); returns it. ``callback``: False for the one path that
        sends none (a record expired before it was ever ready)."""
        after = after if after is not None else after_transition(before, status, fields)
        add = add_job or self.add_job
        self.metrics.count(status.value, after.network)
        if status is TxStatus.FAILED:
            reason = reasons.reason_of(status.value, after.error, after.result,
                                       after.derived.get("reason"))
            self.metrics.count_failure(str((reason or {}).get("code") or UNKNOWN_REASON))
        if callback:
            CallbackQueue.enqueue(after, add, self.clock())
        if self.notifier is not None:
            self.notifier.record_changed(before, after, add_job=add)
        return after
