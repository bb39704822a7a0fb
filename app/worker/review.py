"""Reviewing one source account's queue: records that can never be applied end now (pending ones
included, so signers do not waste effort), the others say what they wait for.

Only ``pending`` and ``ready`` records are written, each with a transition conditional on the
status it was read in: a record being submitted belongs to its submission, and a record that
changed meanwhile is left for the next review.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from app.store.base import TxStore
from app.txs.model import TxRecord, TxStatus
from app.worker.ordering import End, Go, Hold, Landed, Ordering
from app.worker.sequencer import was_sent

T = TypeVar("T")


@dataclass
class ReviewResult:
    ended: list[str] = field(default_factory=list)  # failed with a reason
    landed: list[str] = field(default_factory=list)  # found in a ledger: processed (or failed)
    eligible: list[str] = field(default_factory=list)  # ready and free to go now
    live: int = 0  # pending/ready records left waiting


def waiting_fields(record: TxRecord, waiting_for: dict[str, Any] | None) -> dict[str, Any] | None:
    """The write that makes ``record`` show ``waiting_for`` (None when it already does)."""
    if record.derived.get("waitingFor") == waiting_for:
        return None
    return {"derived": {**record.derived, "waitingFor": waiting_for}}


def end_fields(record: TxRecord, end: End, now: float) -> dict[str, Any]:
    derived = {**record.derived, "reason": end.reason, "waitingFor": None}
    return {"error": end.error, "derived": derived, "updated_at": now}


class Reviewer(Generic[T]):
    """``landed(found)``: the final status (``processed``, or ``failed`` when it was applied but
    failed) and what a record found on the network stores (``result``...).
    ``on_final(before, status, fields)``: called for each record this review finished, with
    what its transition wrote (metrics, events, callbacks)."""

    def __init__(self, store: TxStore, ordering: Ordering[T],
                 landed: Callable[[T], tuple[TxStatus, dict[str, Any]]],
                 on_final: Callable[[TxRecord, TxStatus, dict[str, Any]], object] =
                 lambda before, status, fields: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.ordering = ordering
        self.landed = landed
        self.on_final = on_final
        self.clock = clock

    def review(self, record: TxRecord) -> ReviewResult:
        """Review the queue of ``record``'s source (any record of it will do)."""
        out = ReviewResult()
        view, actions = self.ordering.review(record)
        if view is None:
            return out
        for tx_hash, action in actions.items():
            rec = view.records[tx_hash]
            # A record that was sent belongs to its submission job, which looks it up itself (a
            # lookup right after the account moved may not find it yet).
            if rec.status not in (TxStatus.PENDING, TxStatus.READY) or was_sent(rec):
                continue
            now = self.clock()
            if isinstance(action, End):
                fields = end_fields(rec, action, now)
                if self.store.transition(tx_hash, rec.status, TxStatus.FAILED, fields):
                    out.ended.append(tx_hash)
                    self.on_final(rec, TxStatus.FAILED, fields)
            elif isinstance(action, Landed):
                status, fields = self.landed(action.found)
                fields = {**fields, "updated_at": now, "derived": {**rec.derived, "waitingFor": None}}
                if self.store.transition(tx_hash, rec.status, status, fields):
                    out.landed.append(tx_hash)
                    self.on_final(rec, status, fields)
            else:
                out.live += 1
                waiting = action.waiting_for if isinstance(action, Hold) else None
                change = waiting_fields(rec, waiting)
                if change is not None:
                    self.store.transition(tx_hash, rec.status, rec.status, change)
                if isinstance(action, Go) and rec.status is TxStatus.READY:
                    out.eligible.append(tx_hash)
        return out
