"""stellar-core's TransactionQueue, reduced to what a submitter can observe.

Core keeps at most one queued transaction per source account (the inner transaction's source
for fee bumps). While one is queued (herder/TransactionQueue.cpp, canAdd):

- the same envelope again (or a fee bump's inner transaction again) answers DUPLICATE;
- a lower sequence number answers ERROR with txBAD_SEQ;
- any other transaction answers TRY_AGAIN_LATER, except a fee bump for the same sequence
  that bids at least ten times the queued one's fee per operation, which replaces it
  (a lower bid answers ERROR with txINSUFFICIENT_FEE);
- an admitted transaction's fee source must afford its fee on top of the fees of what it
  already pays for in the queue (txINSUFFICIENT_BALANCE).

The queue only holds transactions while the ledger is told to keep them (Ledger.queue_seconds);
by default every admitted transaction is applied at once, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .envelope import FeeBumpFrame, Parsed

FEE_MULTIPLIER = 10


@dataclass
class Queued:
    parsed: Parsed
    envelope_xdr: str
    via: str
    received_at: float  # ledger clock
    release_at: float | None  # None: held until Ledger.release()
    order: int

    @property
    def hash(self) -> str:
        return self.parsed.hash.hex()

    @property
    def source(self) -> str:
        return self.parsed.inner.source

    @property
    def seq(self) -> int:
        return self.parsed.inner.seq

    def to_json(self) -> dict[str, Any]:
        frame = self.parsed.frame
        return {
            "hash": self.hash,
            "inner_hash": frame.inner.hash.hex() if isinstance(frame, FeeBumpFrame) else None,
            "source": self.source,
            "sequence": self.seq,
            "via": self.via,
            "received_at": self.received_at,
            "release_at": self.release_at,
        }


def fee_bid(parsed: Parsed) -> int:
    return parsed.frame.inclusion_fee


def full_fee(parsed: Parsed) -> int:
    return parsed.frame.fee


def fee_source(parsed: Parsed) -> str:
    frame = parsed.frame
    return frame.fee_source if isinstance(frame, FeeBumpFrame) else frame.source


def op_count(parsed: Parsed) -> int:
    # core: a fee bump counts its inner operations plus one
    frame = parsed.frame
    ops = max(1, len(parsed.inner.tx.operations))
    return ops + 1 if isinstance(frame, FeeBumpFrame) else ops


def is_duplicate(old: Parsed, new: Parsed) -> bool:
    old_bump = isinstance(old.frame, FeeBumpFrame)
    if old_bump == isinstance(new.frame, FeeBumpFrame):
        return old.hash == new.hash
    if isinstance(old.frame, FeeBumpFrame):
        return old.frame.inner.hash == new.hash
    return False


def can_replace_by_fee(new: Parsed, old: Parsed) -> tuple[bool, int]:
    """(replaceable, the smallest total bid that would replace `old`)."""
    new_ops, old_ops = op_count(new), op_count(old)
    needed = FEE_MULTIPLIER * fee_bid(old) * new_ops
    if fee_bid(new) * old_ops >= needed:
        return True, 0
    return False, -(-needed // old_ops)


@dataclass(frozen=True)
class Refusal:
    """Why the queue refuses an envelope before validating it: status is "duplicate",
    "try_again_later" or "rejected" (then code is the transaction result code)."""

    status: str
    code: str
    fee: int = 0


class TxQueue:
    def __init__(self) -> None:
        self._by_source: dict[str, Queued] = {}
        self._order = 0

    def __len__(self) -> int:
        return len(self._by_source)

    def entries(self) -> list[Queued]:
        return sorted(self._by_source.values(), key=lambda q: q.order)

    def refusal(self, parsed: Parsed) -> Refusal | None:
        current = self._by_source.get(parsed.inner.source)
        if current is None:
            return None
        if is_duplicate(current.parsed, parsed):
            return Refusal("duplicate", "DUPLICATE")
        if parsed.inner.seq < current.seq:
            return Refusal("rejected", "txBAD_SEQ")
        if not isinstance(parsed.frame, FeeBumpFrame) or parsed.inner.seq != current.seq:
            return Refusal("try_again_later", "TRY_AGAIN_LATER")
        ok, min_fee = can_replace_by_fee(parsed, current.parsed)
        if not ok:
            return Refusal("rejected", "txINSUFFICIENT_FEE", min_fee)
        return None

    def fees_owed(self, parsed: Parsed) -> int:
        """Fees the new envelope's fee source already owes for queued transactions, minus the
        one this envelope would replace when it pays for that one too."""
        payer = fee_source(parsed)
        owed = sum(full_fee(q.parsed) for q in self._by_source.values() if fee_source(q.parsed) == payer)
        replaced = self._by_source.get(parsed.inner.source)
        if replaced is not None and fee_source(replaced.parsed) == payer:
            owed -= full_fee(replaced.parsed)
        return owed

    def add(
        self, parsed: Parsed, envelope_xdr: str, via: str, now: float, release_at: float | None
    ) -> Queued:
        self._order += 1
        entry = Queued(parsed, envelope_xdr, via, now, release_at, self._order)
        self._by_source[entry.source] = entry
        return entry

    def take(self, now: float | None) -> list[Queued]:
        """Remove and return the entries due at `now` (all of them when now is None), oldest
        first."""
        due = [q for q in self.entries() if now is None or (q.release_at is not None and q.release_at <= now)]
        for entry in due:
            del self._by_source[entry.source]
        return due

    def next_release(self) -> float | None:
        times = [q.release_at for q in self._by_source.values() if q.release_at is not None]
        return min(times) if times else None

    def clear(self) -> None:
        self._by_source.clear()
