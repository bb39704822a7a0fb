"""Which of one source account's transactions may be submitted now. Pure, no I/O.

The network keeps one queued transaction per source account and accepts a transaction only
when ``account.seq + 1 == tx.seq`` (or ``minSeqNum <= account.seq < tx.seq``); the sequence is
consumed whether the transaction succeeds or fails. ``decide`` applies those rules (and the
CAP-21 preconditions, checked the way stellar-core checks them against the next ledger) to
the records of one source and says, for each, whether it may go now, what it waits for, or
why it can never be applied.

Rules, in order, for a record with sequence ``s`` (account sequence ``A``):

1. ``s <= A``: the sequence is consumed. If another record with the same sequence (and a
   different inner transaction) landed, this one is *superseded* by it; if such a record is in
   flight, this one waits for it (its landing, once recorded, decides); otherwise it is
   *stale*: the caller looks its hash up before ending it (it may be the one that landed).
2. ``maxTime``/``maxLedger`` passed: *expired*; ``minSeqNum >= s``: *invalid* (never valid).
3. The account must reach ``s - 1`` (or ``minSeqNum``): a number in between with no live
   record makes it *blocked* (the missing numbers are named); otherwise it waits for its
   *predecessor*, the record with that number.
4. Among the records valid by sequence, the lowest sequence goes first (for equal sequences, a
   ready one whose preconditions hold before the others); the others wait for it. While a
   record is in flight (submitted, outcome unknown) nothing else of the source goes.
5. The first in line is *eligible* when it is ready and its preconditions hold; otherwise it
   waits for signatures or for the time/ledger at which its preconditions will hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from stellar_sdk import FeeBumpTransactionEnvelope, StrKey, TransactionEnvelope
from stellar_sdk import xdr as stellar_xdr

MAX_MISSING_RANGES = 10


@dataclass(frozen=True, slots=True)
class Preconditions:
    """What the network checks of one transaction besides signatures (the inner transaction's
    for a fee bump). 0 means "no bound" for every field but the sequence."""

    source: str
    sequence: int
    min_time: int = 0
    max_time: int = 0
    min_ledger: int = 0
    max_ledger: int = 0  # exclusive
    min_seq_num: int | None = None
    min_seq_age: int = 0  # seconds
    min_seq_ledger_gap: int = 0


def preconditions_of(envelope: TransactionEnvelope | FeeBumpTransactionEnvelope) -> Preconditions:
    te = (
        envelope.transaction.inner_transaction_envelope
        if isinstance(envelope, FeeBumpTransactionEnvelope)
        else envelope
    )
    tx = te.transaction
    pre = tx.preconditions
    tb = pre.time_bounds if pre is not None else None
    lb = pre.ledger_bounds if pre is not None else None
    return Preconditions(
        source=str(tx.source.account_id),
        sequence=int(tx.sequence),
        min_time=tb.min_time if tb else 0,
        max_time=tb.max_time if tb else 0,
        min_ledger=lb.min_ledger if lb else 0,
        max_ledger=lb.max_ledger if lb else 0,
        min_seq_num=pre.min_sequence_number if pre is not None else None,
        min_seq_age=(pre.min_sequence_age or 0) if pre is not None else 0,
        min_seq_ledger_gap=(pre.min_sequence_ledger_gap or 0) if pre is not None else 0,
    )


def preconditions_from_xdr(xdr_b64: str) -> Preconditions:
    """``preconditions_of`` read from the decoded XDR alone (kept equal by a test): the worker
    needs these few numbers of every record of a source on each ordering decision, and building
    the SDK's objects for them cost more than decoding. Raises ValueError for undecodable XDR."""
    try:
        env = stellar_xdr.TransactionEnvelope.from_xdr(xdr_b64)
    except Exception as exc:  # the XDR decoder raises assorted errors on garbage
        raise ValueError("Invalid transaction XDR") from exc
    if env.type == stellar_xdr.EnvelopeType.ENVELOPE_TYPE_TX_V0:
        if env.v0 is None:
            raise ValueError("Invalid transaction XDR")
        v0 = env.v0.tx
        tb0 = v0.time_bounds
        return Preconditions(
            source=StrKey.encode_ed25519_public_key(v0.source_account_ed25519.uint256),
            sequence=v0.seq_num.sequence_number.int64,
            min_time=tb0.min_time.time_point.uint64 if tb0 else 0,
            max_time=tb0.max_time.time_point.uint64 if tb0 else 0,
        )
    v1 = env.v1 if env.type == stellar_xdr.EnvelopeType.ENVELOPE_TYPE_TX else (
        env.fee_bump.tx.inner_tx.v1 if env.fee_bump is not None else None)
    if v1 is None:
        raise ValueError("Invalid transaction XDR")
    tx = v1.tx
    muxed = tx.source_account
    key = muxed.ed25519 if muxed.ed25519 is not None else (
        muxed.med25519.ed25519 if muxed.med25519 is not None else None)
    if key is None:
        raise ValueError("Invalid transaction XDR")
    cond = tx.cond
    tb = cond.time_bounds if cond.type == stellar_xdr.PreconditionType.PRECOND_TIME else None
    v2 = cond.v2 if cond.type == stellar_xdr.PreconditionType.PRECOND_V2 else None
    if v2 is not None:
        tb = v2.time_bounds
    lb = v2.ledger_bounds if v2 is not None else None
    return Preconditions(
        source=StrKey.encode_ed25519_public_key(key.uint256),
        sequence=tx.seq_num.sequence_number.int64,
        min_time=tb.min_time.time_point.uint64 if tb else 0,
        max_time=tb.max_time.time_point.uint64 if tb else 0,
        min_ledger=lb.min_ledger.uint32 if lb else 0,
        max_ledger=lb.max_ledger.uint32 if lb else 0,
        min_seq_num=(v2.min_seq_num.sequence_number.int64
                     if v2 is not None and v2.min_seq_num is not None else None),
        min_seq_age=v2.min_seq_age.duration.uint64 if v2 is not None else 0,
        min_seq_ledger_gap=v2.min_seq_ledger_gap.uint32 if v2 is not None else 0,
    )


class Status(StrEnum):
    PENDING = "pending"  # collecting signatures
    READY = "ready"  # fully signed, not sent
    IN_FLIGHT = "in_flight"  # sent, outcome not known yet
    LANDED = "landed"  # applied in a ledger (its sequence is consumed)


@dataclass(frozen=True, slots=True)
class Entry:
    """One record of the source. ``order`` breaks ties between equal sequences (e.g. the time
    the record became ready), then the hash does."""

    hash: str
    pre: Preconditions
    status: Status
    inner_hash: str | None = None
    order: float = 0.0

    @property
    def seq(self) -> int:
        return self.pre.sequence

    @property
    def tx_id(self) -> str:
        """The transaction whose sequence is used: the inner one of a fee bump."""
        return self.inner_hash or self.hash


@dataclass(frozen=True, slots=True)
class AccountState:
    sequence: int
    seq_ledger: int = 0  # ledger of the last sequence change (0 if never, since protocol 19)
    seq_time: int = 0  # close time of that ledger


@dataclass(frozen=True, slots=True)
class NextLedger:
    """The ledger a transaction sent now would be applied in, and its expected close time."""

    sequence: int
    close_time: int


class State(StrEnum):
    ELIGIBLE = "eligible"  # ready and valid: submit now
    IN_FLIGHT = "in_flight"
    WAITING = "waiting"  # see Decision.waiting_for
    BLOCKED = "blocked"  # see Decision.missing
    STALE = "stale"  # sequence consumed by a transaction we do not hold: look the hash up
    SUPERSEDED = "superseded"  # see Decision.superseded_by
    EXPIRED = "expired"
    INVALID = "invalid"  # minSeqNum not below its own sequence: the network answers txBAD_SEQ

    @property
    def final(self) -> bool:
        """Nothing can make the record valid again."""
        return self in (State.STALE, State.SUPERSEDED, State.EXPIRED, State.INVALID)


class WaitKind(StrEnum):
    PREDECESSOR = "predecessor"  # the record that must land first
    SIBLING = "sibling"  # a record with the same sequence goes first
    SIGNATURES = "signatures"  # next in line, still collecting signatures
    MIN_TIME = "minTime"
    LEDGER = "ledger"  # ledgerBounds.minLedger
    MIN_SEQ_AGE = "minSeqAge"
    MIN_SEQ_LEDGER_GAP = "minSeqLedgerGap"


@dataclass(frozen=True, slots=True)
class Wait:
    kind: WaitKind
    hash: str | None = None  # predecessor / sibling
    time: int | None = None  # unix time at which this condition holds
    ledger: int | None = None  # ledger sequence from which this condition holds


@dataclass(frozen=True, slots=True)
class Decision:
    hash: str
    state: State
    waiting_for: Wait | None = None
    # Preconditions met once both hold (the latest of the time-based and ledger-based waits):
    # a scheduler wakes the record then instead of polling.
    not_before_time: int | None = None
    not_before_ledger: int | None = None
    missing: tuple[tuple[int, int], ...] = ()  # blocked: inclusive ranges of missing sequences
    missing_count: int = 0
    superseded_by: str | None = None
    conflicts: tuple[str, ...] = ()  # other live records with the same sequence


def unmet_preconditions(pre: Preconditions, account: AccountState, nxt: NextLedger) -> list[Wait]:
    """Preconditions that do not hold for a transaction sent now, in core's order
    (isTooEarly, isTooEarlyForAccount), each with the time or ledger from which it will."""
    waits = []
    if pre.min_time and pre.min_time > nxt.close_time:
        waits.append(Wait(WaitKind.MIN_TIME, time=pre.min_time))
    if pre.min_ledger > nxt.sequence:
        waits.append(Wait(WaitKind.LEDGER, ledger=pre.min_ledger))
    age = pre.min_seq_age
    if age > nxt.close_time or nxt.close_time - age < account.seq_time:
        waits.append(Wait(WaitKind.MIN_SEQ_AGE, time=account.seq_time + age))
    gap = pre.min_seq_ledger_gap
    if gap > nxt.sequence or nxt.sequence - gap < account.seq_ledger:
        waits.append(Wait(WaitKind.MIN_SEQ_LEDGER_GAP, ledger=account.seq_ledger + gap))
    return waits


def expired(pre: Preconditions, nxt: NextLedger) -> bool:
    """isTooLate: maxTime before the close time, or maxLedger (exclusive) reached."""
    return bool(pre.max_time and pre.max_time < nxt.close_time) or bool(
        pre.max_ledger and pre.max_ledger <= nxt.sequence
    )


def _ranges(missing: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for n in missing:
        if out and out[-1][1] + 1 == n:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def _gaps(low: int, high: int, present: Sequence[int]) -> tuple[list[tuple[int, int]], int]:
    """Inclusive ranges of numbers in [low, high] not in ``present`` (sorted, unique), and
    how many numbers that is. Works on ranges: the span may be huge."""
    ranges: list[tuple[int, int]] = []
    count = 0
    cursor = low
    for n in present:
        if n < cursor:
            continue
        if n > high:
            break
        if n > cursor:
            ranges.append((cursor, n - 1))
            count += n - cursor
        cursor = n + 1
    if cursor <= high:
        ranges.append((cursor, high))
        count += high - cursor + 1
    return ranges, count


def _line_key(entry: Entry, met: bool) -> tuple[int, int, float, str]:
    rank = 0 if entry.status is Status.READY and met else 1 if entry.status is Status.READY else 2
    return entry.seq, rank, entry.order, entry.hash


def decide(entries: Sequence[Entry], account: AccountState, nxt: NextLedger) -> dict[str, Decision]:
    """A decision for every record of ``entries`` that has not landed (all of one source)."""
    sources = {e.pre.source for e in entries}
    if len(sources) > 1:
        raise ValueError(f"records of more than one source account: {sorted(sources)}")
    live = [e for e in entries if e.status is not Status.LANDED]
    landed = [e for e in entries if e.status is Status.LANDED]
    same_seq: dict[int, list[str]] = {}
    for e in live:
        same_seq.setdefault(e.seq, []).append(e.hash)

    def conflicts(e: Entry) -> tuple[str, ...]:
        return tuple(h for h in same_seq[e.seq] if h != e.hash)

    out: dict[str, Decision] = {}
    alive: list[Entry] = []
    for e in live:
        if e.seq <= account.sequence:
            winner = next((w for w in landed if w.seq == e.seq and w.tx_id != e.tx_id), None)
            sending = None if e.status is Status.IN_FLIGHT else next(
                (w for w in live if w.status is Status.IN_FLIGHT and w.seq == e.seq
                 and w.tx_id != e.tx_id), None)
            if winner is not None:
                out[e.hash] = Decision(e.hash, State.SUPERSEDED, superseded_by=winner.hash,
                                       conflicts=conflicts(e))
            elif sending is not None:
                # Most likely that sibling consumed it, and its landing is not recorded yet:
                # ending this one now would call it stale instead of superseded by it.
                out[e.hash] = Decision(e.hash, State.WAITING, Wait(WaitKind.SIBLING, sending.hash),
                                       conflicts=conflicts(e))
            else:
                out[e.hash] = Decision(e.hash, State.STALE, conflicts=conflicts(e))
        elif expired(e.pre, nxt):
            out[e.hash] = Decision(e.hash, State.EXPIRED, conflicts=conflicts(e))
        elif e.pre.min_seq_num is not None and e.pre.min_seq_num >= e.seq:
            out[e.hash] = Decision(e.hash, State.INVALID, conflicts=conflicts(e))
        else:
            alive.append(e)

    unmet = {e.hash: unmet_preconditions(e.pre, account, nxt) for e in alive}
    line = sorted(alive, key=lambda e: _line_key(e, not unmet[e.hash]))
    present = sorted({e.seq for e in alive})
    in_flight = next((e for e in line if e.status is Status.IN_FLIGHT), None)
    head: Entry | None = None
    for e in line:
        if e.status is Status.IN_FLIGHT:
            out[e.hash] = Decision(e.hash, State.IN_FLIGHT, conflicts=conflicts(e))
            continue
        # The account sequence this record needs before it is valid.
        need = e.seq - 1 if e.pre.min_seq_num is None else e.pre.min_seq_num
        if need > account.sequence:
            missing, count = _gaps(account.sequence + 1, need, present)
            if missing:
                out[e.hash] = Decision(e.hash, State.BLOCKED, missing=tuple(missing[:MAX_MISSING_RANGES]),
                                       missing_count=count, conflicts=conflicts(e))
            else:
                before = in_flight if in_flight is not None and in_flight.seq == need else next(
                    p for p in line if p.seq == need)
                out[e.hash] = Decision(e.hash, State.WAITING, Wait(WaitKind.PREDECESSOR, before.hash),
                                       conflicts=conflicts(e))
            continue
        first = in_flight or head
        if first is not None:
            kind = WaitKind.SIBLING if first.seq == e.seq else WaitKind.PREDECESSOR
            out[e.hash] = Decision(e.hash, State.WAITING, Wait(kind, first.hash), conflicts=conflicts(e))
            continue
        head = e
        out[e.hash] = _head_decision(e, unmet[e.hash], conflicts(e))
    return out


def _head_decision(e: Entry, unmet: list[Wait], conflicts: tuple[str, ...]) -> Decision:
    if unmet:
        times = [w.time for w in unmet if w.time is not None]
        ledgers = [w.ledger for w in unmet if w.ledger is not None]
        return Decision(e.hash, State.WAITING, unmet[0], not_before_time=max(times, default=None),
                        not_before_ledger=max(ledgers, default=None), conflicts=conflicts)
    if e.status is Status.READY:
        return Decision(e.hash, State.ELIGIBLE, conflicts=conflicts)
    return Decision(e.hash, State.WAITING, Wait(WaitKind.SIGNATURES), conflicts=conflicts)
