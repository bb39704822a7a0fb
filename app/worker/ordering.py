"""Per-source ordering of submissions: what to do with a record now, given its source's queue.

``gate`` answers for a ready record about to be sent for the first time; ``review`` answers for
every live record of a source (pending ones included, so signers learn early that a record can
never be applied). Both read the queue and the account fresh (``Sequencer``) and translate the
sequencing decisions into actions the scheduler carries out:

- ``Go``: submit now (it is the lowest eligible record of its source);
- ``Hold``: not now; wake on an event or at ``at`` at the latest (the time a precondition holds,
  or a safety re-check), showing ``waiting_for``. A record waiting for one named record (its
  predecessor, or a sibling going first) wakes when that record ends (``after_event``), so one
  record ending wakes the one next in line, not every record of the source; others wake on the
  source's event (a sibling finished);
- ``End``: finished without being applied, with a typed ``reason``;
- ``Landed``: its sequence is consumed and the lookup by hash found it applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from app.stellar.sequencing import Decision, NextLedger, State, WaitKind
from app.txs import reasons
from app.txs.model import TxRecord
from app.worker.sequencer import Sequencer, SourceView

T = TypeVar("T")

LEDGER_SECONDS = 5.0  # the network's target close time, to turn a ledger number into a time
RECHECK_SECONDS = 30.0  # a held record looks again at least this often (events are the fast path)


def source_event(network: str, source: str) -> str:
    """The event a record of this source waits for: one of its siblings finished."""
    return f"source:{network}:{source}"


def after_event(network: str, tx_hash: str) -> str:
    """The event a record waiting for this one (its predecessor, or a sibling going first)
    waits for: it ended."""
    return f"after:{network}:{tx_hash}"


@dataclass(frozen=True, slots=True)
class Go:
    pass


@dataclass(frozen=True, slots=True)
class Hold:
    event: str
    at: float
    waiting_for: dict[str, Any] | None
    after: str | None = None  # the record whose end ``event`` is (see ``after_event``)


@dataclass(frozen=True, slots=True)
class End:
    reason: dict[str, Any]

    @property
    def error(self) -> str:
        return str(self.reason["message"])


@dataclass(frozen=True, slots=True)
class Landed(Generic[T]):
    found: T


Action = Go | Hold | End | Landed[T]


class Ordering(Generic[T]):
    """``lookup(record)`` looks the record's hash (inner and outer) up on the network: the
    found transaction, None if the network does not know it; it raises UpstreamUnavailable
    when it cannot tell."""

    def __init__(self, sequencer: Sequencer, lookup: Callable[[TxRecord], T | None],
                 clock: Callable[[], float] = time.time, recheck: float = RECHECK_SECONDS,
                 ledger_seconds: float = LEDGER_SECONDS) -> None:
        self.sequencer = sequencer
        self.lookup = lookup
        self.clock = clock
        self.recheck = recheck
        self.ledger_seconds = ledger_seconds

    def gate(self, record: TxRecord) -> Action[T]:
        view = self.sequencer.view(record)
        if view is None:
            return Go()  # no such account: the network's own answer says so
        return self._action(view, view.decisions[record.hash], record)

    def review(self, record: TxRecord) -> tuple[SourceView | None, dict[str, Action[T]]]:
        """An action for every live record of ``record``'s source that is not being sent."""
        view = self.sequencer.view(record)
        if view is None:
            return None, {}
        actions = {h: self._action(view, d, view.records[h]) for h, d in view.decisions.items()
                   if d.state is not State.IN_FLIGHT}
        # A consumed record whose sibling (same sequence) was just found applied lost to it.
        for h, action in actions.items():
            if not (isinstance(action, End) and action.reason["code"] == reasons.SEQUENCE_CONSUMED):
                continue
            mine = view.entries[h]
            winner = next((w for w, a in actions.items() if isinstance(a, Landed)
                           and view.entries[w].seq == mine.seq
                           and view.entries[w].tx_id != mine.tx_id), None)
            if winner is not None:
                actions[h] = End(reasons.superseded_by(winner, mine.seq))
        return view, actions

    def _action(self, view: SourceView, d: Decision, record: TxRecord) -> Action[T]:
        now = self.clock()
        pre = view.entries[d.hash].pre
        if d.state in (State.ELIGIBLE, State.IN_FLIGHT):
            return Go()
        if d.state is State.STALE:
            found = self.lookup(record)
            if found is not None:
                return Landed(found)
            return End(reasons.sequence_consumed(view.account.sequence, pre.sequence))
        final = reasons.final_reason(d, pre.sequence, view.account.sequence, pre.min_seq_num)
        if final is not None:
            return End(final)
        wait = d.waiting_for
        at = self._wake_at(d, view.nxt, now)
        if wait is not None and wait.hash is not None and wait.kind in (WaitKind.PREDECESSOR,
                                                                         WaitKind.SIBLING):
            return Hold(after_event(view.network, wait.hash), at, reasons.waiting_for(d),
                        after=wait.hash)
        return Hold(source_event(view.network, view.source), at, reasons.waiting_for(d))

    def _wake_at(self, d: Decision, nxt: NextLedger, now: float) -> float:
        at = now + self.recheck
        if d.not_before_time is not None:
            at = min(at, float(d.not_before_time))
        if d.not_before_ledger is not None:
            ledgers = max(0, d.not_before_ledger - nxt.sequence)
            at = min(at, now + ledgers * self.ledger_seconds)
        if d.not_before_time is not None and d.not_before_ledger is not None:
            # both must hold: the later of the two, never later than the safety re-check
            by_time = float(d.not_before_time)
            by_ledger = now + max(0, d.not_before_ledger - nxt.sequence) * self.ledger_seconds
            at = min(now + self.recheck, max(by_time, by_ledger))
        return max(at, now)
