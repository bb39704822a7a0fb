"""Per-source ordering, stale/superseded/blocked records and CAP-21 preconditions (pure rules)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stellar_sdk import Account, Keypair, Network, TransactionBuilder

from app.stellar.sequencing import (
    AccountState,
    Decision,
    Entry,
    NextLedger,
    Preconditions,
    State,
    Status,
    Wait,
    WaitKind,
    decide,
    preconditions_from_xdr,
    preconditions_of,
    unmet_preconditions,
)

SRC = Keypair.from_raw_ed25519_seed(bytes([7]) * 32).public_key
A = 1000  # the account's sequence in the tables
NOW = 1_700_000_000
NXT = NextLedger(sequence=500, close_time=NOW)
ACC = AccountState(sequence=A, seq_ledger=400, seq_time=NOW - 3600)


def rec(name: str, seq: int, status: Status = Status.READY, order: float = 0.0, **pre: Any) -> Entry:
    return Entry(hash=name, pre=Preconditions(SRC, seq, **pre), status=status, order=order)


def states(entries: list[Entry], account: AccountState = ACC, nxt: NextLedger = NXT) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for h, d in decide(entries, account, nxt).items():
        if d.state is State.WAITING:
            assert d.waiting_for is not None
            out[h] = (d.state.value, d.waiting_for.kind.value, d.waiting_for.hash)
        elif d.state is State.BLOCKED:
            out[h] = (d.state.value, d.missing)
        elif d.state is State.SUPERSEDED:
            out[h] = (d.state.value, d.superseded_by)
        else:
            out[h] = d.state.value
    return out


CASES: list[tuple[str, list[Entry], dict[str, Any]]] = [
    (
        "a chain goes in order, whatever the arrival order",
        [rec("n3", A + 3, order=1), rec("n1", A + 1, order=3), rec("n2", A + 2, order=2)],
        {"n1": "eligible", "n2": ("waiting", "predecessor", "n1"), "n3": ("waiting", "predecessor", "n2")},
    ),
    (
        "a pending predecessor holds the next one back",
        [rec("n1", A + 1, Status.PENDING), rec("n2", A + 2)],
        {"n1": ("waiting", "signatures", None), "n2": ("waiting", "predecessor", "n1")},
    ),
    (
        "nothing else goes while one is in flight",
        [rec("n1", A + 1, Status.IN_FLIGHT), rec("n2", A + 2), rec("x1", A + 1)],
        {"n1": "in_flight", "n2": ("waiting", "predecessor", "n1"), "x1": ("waiting", "sibling", "n1")},
    ),
    (
        "a gap blocks, naming the missing numbers",
        [rec("n3", A + 3), rec("n5", A + 5)],
        {"n3": ("blocked", ((A + 1, A + 2),)), "n5": ("blocked", ((A + 1, A + 2), (A + 4, A + 4)))},
    ),
    (
        "consumed sequence: stale (look it up), or superseded by the sibling that landed",
        [
            rec("old", A - 3),
            rec("lost", A),
            rec("won", A, Status.LANDED),
            rec("n1", A + 1),
        ],
        {"old": "stale", "lost": ("superseded", "won"), "n1": "eligible"},
    ),
    (
        "consumed sequence while a sibling is in flight: wait for its landing to be recorded",
        [rec("sent", A, Status.IN_FLIGHT), rec("other", A), rec("n1", A + 1)],
        {"sent": "stale", "other": ("waiting", "sibling", "sent"), "n1": "eligible"},
    ),
    (
        "same sequence: the ready one goes before a pending sibling, the other waits for it",
        [rec("p", A + 1, Status.PENDING, order=0), rec("r", A + 1, order=5), rec("q", A + 1, order=6)],
        {"r": "eligible", "p": ("waiting", "sibling", "r"), "q": ("waiting", "sibling", "r")},
    ),
    (
        "same sequence: a sibling whose preconditions hold goes before one that waits",
        [rec("later", A + 1, order=0, min_time=NOW + 60), rec("now", A + 1, order=1)],
        {"now": "eligible", "later": ("waiting", "sibling", "now")},
    ),
    (
        "expired by maxTime or maxLedger (exclusive); a later record is then blocked",
        [
            rec("t", A + 1, max_time=NOW - 1),
            rec("l", A + 1, max_ledger=NXT.sequence),
            rec("n2", A + 2),
        ],
        {"t": "expired", "l": "expired", "n2": ("blocked", ((A + 1, A + 1),))},
    ),
    (
        "maxLedger is the first ledger it is no longer valid in; maxTime is inclusive",
        [rec("ok", A + 1, max_ledger=NXT.sequence + 1, max_time=NOW)],
        {"ok": "eligible"},
    ),
    (
        "minSeqNum lets a record skip numbers nobody holds",
        [rec("jump", A + 5, min_seq_num=A - 2)],
        {"jump": "eligible"},
    ),
    (
        "minSeqNum above the account: waits for the record holding that number",
        [rec("n1", A + 1), rec("jump", A + 5, min_seq_num=A + 1)],
        {"n1": "eligible", "jump": ("waiting", "predecessor", "n1")},
    ),
    (
        "minSeqNum not below the sequence: never valid",
        [rec("bad", A + 2, min_seq_num=A + 2)],
        {"bad": "invalid"},
    ),
    (
        "a lower record valid by sequence goes before a minSeqNum jump",
        [rec("jump", A + 5, min_seq_num=A), rec("n1", A + 1, Status.PENDING)],
        {"n1": ("waiting", "signatures", None), "jump": ("waiting", "predecessor", "n1")},
    ),
]


@pytest.mark.parametrize(("entries", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decisions(entries: list[Entry], expected: dict[str, Any]) -> None:
    assert states(entries) == expected


PRECONDITION_CASES: list[tuple[str, dict[str, Any], Wait | None, int | None, int | None]] = [
    ("minTime in the future", {"min_time": NOW + 30}, Wait(WaitKind.MIN_TIME, time=NOW + 30), NOW + 30, None),
    ("minTime now", {"min_time": NOW}, None, None, None),
    ("minLedger after the next", {"min_ledger": NXT.sequence + 2},
     Wait(WaitKind.LEDGER, ledger=NXT.sequence + 2), None, NXT.sequence + 2),
    ("minLedger is the next", {"min_ledger": NXT.sequence}, None, None, None),
    ("minSeqAge not reached", {"min_seq_age": 7200}, Wait(WaitKind.MIN_SEQ_AGE, time=NOW + 3600), NOW + 3600,
     None),
    ("minSeqAge exactly reached", {"min_seq_age": 3600}, None, None, None),
    ("minSeqLedgerGap not reached", {"min_seq_ledger_gap": 150},
     Wait(WaitKind.MIN_SEQ_LEDGER_GAP, ledger=550), None, 550),
    ("minSeqLedgerGap exactly reached", {"min_seq_ledger_gap": 100}, None, None, None),
    ("time and ledger waits both count", {"min_time": NOW + 10, "min_seq_ledger_gap": 101},
     Wait(WaitKind.MIN_TIME, time=NOW + 10), NOW + 10, 501),
]


@pytest.mark.parametrize(("pre", "wait", "not_before_time", "not_before_ledger"),
                         [c[1:] for c in PRECONDITION_CASES], ids=[c[0] for c in PRECONDITION_CASES])
def test_preconditions_schedule_the_record(pre: dict[str, Any], wait: Wait | None,
                                           not_before_time: int | None,
                                           not_before_ledger: int | None) -> None:
    (d,) = decide([rec("r", A + 1, **pre)], ACC, NXT).values()
    if wait is None:
        assert d.state is State.ELIGIBLE
        return
    assert (d.state, d.waiting_for) == (State.WAITING, wait)
    assert (d.not_before_time, d.not_before_ledger) == (not_before_time, not_before_ledger)
    # At the announced time/ledger the record is eligible: schedulers can sleep until then.
    later = NextLedger(max(NXT.sequence, not_before_ledger or 0), max(NOW, not_before_time or 0))
    (d,) = decide([rec("r", A + 1, **pre)], ACC, later).values()
    assert d.state is State.ELIGIBLE


def test_conflicts_name_the_siblings() -> None:
    out = decide([rec("a", A + 1), rec("b", A + 1, Status.PENDING), rec("c", A + 2)], ACC, NXT)
    assert (out["a"].conflicts, out["b"].conflicts, out["c"].conflicts) == (("b",), ("a",), ())


def test_fee_bump_of_the_landed_transaction_is_not_superseded_by_it() -> None:
    landed = replace(rec("bump", A), inner_hash="inner", status=Status.LANDED)
    plain = rec("inner", A)
    assert decide([landed, plain], ACC, NXT)["inner"].state is State.STALE  # lookup finds it landed


def test_huge_gaps_are_reported_as_ranges() -> None:
    d = decide([rec("far", A + 10**12)], ACC, NXT)["far"]
    assert (d.state, d.missing, d.missing_count) == (State.BLOCKED, ((A + 1, A + 10**12 - 1),), 10**12 - 1)


def test_records_of_two_sources_are_refused() -> None:
    other = Entry("o", Preconditions(Keypair.random().public_key, A + 1), Status.READY)
    with pytest.raises(ValueError, match="more than one source"):
        decide([rec("a", A + 1), other], ACC, NXT)


def test_preconditions_come_from_the_inner_transaction_of_a_fee_bump() -> None:
    kp = Keypair.from_raw_ed25519_seed(bytes([3]) * 32)
    builder = TransactionBuilder(Account(kp.public_key, 41), Network.TESTNET_NETWORK_PASSPHRASE, 100)
    builder.append_bump_sequence_op(0).add_time_bounds(10, 20).set_ledger_bounds(5, 9)
    builder.set_min_sequence_number(30).set_min_sequence_age(60).set_min_sequence_ledger_gap(2)
    inner = builder.build()
    bump = TransactionBuilder.build_fee_bump_transaction(
        Keypair.random().public_key, 200, inner, Network.TESTNET_NETWORK_PASSPHRASE)
    expected = Preconditions(kp.public_key, 42, 10, 20, 5, 9, 30, 60, 2)
    assert preconditions_of(inner) == preconditions_of(bump) == expected
    plain = TransactionBuilder(Account(kp.public_key, 1), Network.TESTNET_NETWORK_PASSPHRASE, 100)
    env = plain.append_bump_sequence_op(0).add_time_bounds(0, 0).build()
    assert preconditions_of(env) == Preconditions(kp.public_key, 2)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["none", "time", "v2", "v0", "fee_bump", "muxed"]),
       seq=st.integers(0, 2**62), times=st.tuples(st.integers(0, 2**40), st.integers(0, 2**40)),
       ledgers=st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
       min_seq=st.one_of(st.none(), st.integers(0, 2**62)), age=st.integers(0, 2**40),
       gap=st.integers(0, 2**32 - 1))
def test_preconditions_from_the_xdr_alone_equal_the_sdks(
        kind: str, seq: int, times: tuple[int, int], ledgers: tuple[int, int],
        min_seq: int | None, age: int, gap: int) -> None:
    import warnings

    from stellar_sdk import MuxedAccount, TransactionEnvelope

    times, ledgers = (min(times), max(times)), (min(ledgers), max(ledgers))
    kp = Keypair.from_raw_ed25519_seed(bytes([5]) * 32)
    source = MuxedAccount(kp.public_key, 9) if kind == "muxed" else kp.public_key
    builder = TransactionBuilder(Account(source, seq), Network.TESTNET_NETWORK_PASSPHRASE, 100,
                                 v1=kind != "v0").append_bump_sequence_op(0)
    if kind != "none":
        builder.add_time_bounds(*times)
    if kind in ("v2", "fee_bump", "muxed"):
        builder.set_ledger_bounds(*ledgers).set_min_sequence_age(age)
        builder.set_min_sequence_ledger_gap(gap)
        if min_seq is not None:
            builder.set_min_sequence_number(min_seq)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kind "none": the SDK warns about missing time bounds
        env: Any = builder.build()
    if kind == "fee_bump":
        env = TransactionBuilder.build_fee_bump_transaction(
            Keypair.random().public_key, 200, env, Network.TESTNET_NETWORK_PASSPHRASE)
    xdr = env.to_xdr()
    decoded = TransactionEnvelope.from_xdr(xdr, Network.TESTNET_NETWORK_PASSPHRASE) \
        if kind != "fee_bump" else env
    assert preconditions_from_xdr(xdr) == preconditions_of(decoded)
    assert preconditions_from_xdr(xdr).source == kp.public_key


def test_undecodable_xdr_has_no_preconditions() -> None:
    for bad in ("", "AAAA", "not base64!", "AAAAAgAAAAA="):
        with pytest.raises(ValueError):
            preconditions_from_xdr(bad)


# -- properties ---------------------------------------------------------------------------------

STATUSES = [Status.PENDING, Status.READY, Status.READY, Status.IN_FLIGHT, Status.LANDED]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Entry], AccountState, NextLedger]:
    account = AccountState(sequence=draw(st.integers(A - 3, A + 3)),
                           seq_ledger=draw(st.integers(0, NXT.sequence)),
                           seq_time=draw(st.integers(NOW - 100, NOW)))
    n = draw(st.integers(0, 8))
    entries = []
    for i in range(n):
        status = draw(st.sampled_from(STATUSES))
        pre: dict[str, Any] = {}
        if draw(st.booleans()):
            pre["min_time"] = draw(st.integers(NOW - 50, NOW + 50))
        if draw(st.booleans()):
            pre["max_ledger"] = draw(st.integers(NXT.sequence - 2, NXT.sequence + 2))
        if draw(st.booleans()):
            pre["min_seq_age"] = draw(st.integers(0, 150))
        if draw(st.integers(0, 4)) == 0:
            pre["min_seq_num"] = draw(st.integers(A - 5, A + 5))
        entries.append(rec(f"r{i}", draw(st.integers(A - 2, A + 6)), status, order=i, **pre))
    # at most one landed record per sequence, as on the network
    landed: set[int] = set()
    kept = []
    for e in entries:
        if e.status is Status.LANDED:
            if e.seq in landed or e.seq > account.sequence:
                continue
            landed.add(e.seq)
        kept.append(e)
    return kept, account, NXT


def _check(entries: list[Entry], account: AccountState, nxt: NextLedger) -> dict[str, Decision]:
    out = decide(entries, account, nxt)
    assert set(out) == {e.hash for e in entries if e.status is not Status.LANDED}
    return out


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_at_most_one_record_per_source_goes(case: tuple[list[Entry], AccountState, NextLedger]) -> None:
    out = _check(*case)
    going = [d for d in out.values() if d.state in (State.ELIGIBLE, State.IN_FLIGHT)]
    assert len([d for d in going if d.state is State.ELIGIBLE]) <= 1
    if any(d.state is State.IN_FLIGHT for d in going):
        assert all(d.state is not State.ELIGIBLE for d in going)


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_eligible_only_when_the_network_would_accept_it(
        case: tuple[list[Entry], AccountState, NextLedger]) -> None:
    entries, account, nxt = case
    out = _check(entries, account, nxt)
    by_hash = {e.hash: e for e in entries}
    for h, d in out.items():
        e = by_hash[h]
        if e.seq <= account.sequence:
            assert d.state in (State.STALE, State.SUPERSEDED) or (
                d.state is State.WAITING and d.waiting_for is not None
                and by_hash[d.waiting_for.hash].status is Status.IN_FLIGHT
                and by_hash[d.waiting_for.hash].seq == e.seq)
        if d.state is State.ELIGIBLE:
            pre = e.pre
            assert e.status is Status.READY and e.seq > account.sequence
            if pre.min_seq_num is None:
                assert account.sequence + 1 == e.seq
            else:
                assert pre.min_seq_num <= account.sequence < e.seq
            assert not pre.min_time or pre.min_time <= nxt.close_time
            assert not pre.max_ledger or pre.max_ledger > nxt.sequence
            assert nxt.close_time - pre.min_seq_age >= account.seq_time


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_blocked_exactly_when_a_needed_number_has_no_live_record(
        case: tuple[list[Entry], AccountState, NextLedger]) -> None:
    entries, account, nxt = case
    out = _check(entries, account, nxt)
    alive = {e.seq for e in entries
             if e.hash in out and not out[e.hash].state.final}
    for e in entries:
        d = out.get(e.hash)
        if d is None or d.state.final or d.state is State.IN_FLIGHT or e.seq <= account.sequence:
            continue  # (consumed: it waits only for the sibling in flight, checked above)
        need = e.seq - 1 if e.pre.min_seq_num is None else e.pre.min_seq_num
        gap = [n for n in range(account.sequence + 1, need + 1) if n not in alive]
        assert (d.state is State.BLOCKED) == bool(gap)
        if gap:
            assert [n for lo, hi in d.missing for n in range(lo, hi + 1)] == gap
            assert d.missing_count == len(gap)


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_something_goes_when_the_lowest_record_can(
        case: tuple[list[Entry], AccountState, NextLedger]) -> None:
    """Liveness: the lowest live record, ready, valid by sequence and with its preconditions
    met, is submitted (or another with the same sequence is)."""
    entries, account, nxt = case
    out = _check(entries, account, nxt)
    alive = [e for e in entries if e.hash in out and not out[e.hash].state.final]
    if not alive or any(out[e.hash].state is State.IN_FLIGHT for e in alive):
        return
    lowest = min(alive, key=lambda e: e.seq)
    pre = lowest.pre
    valid_seq = (account.sequence + 1 == lowest.seq if pre.min_seq_num is None
                 else pre.min_seq_num <= account.sequence)
    if lowest.status is Status.READY and valid_seq and not unmet_preconditions(pre, account, nxt):
        eligible = [h for h, d in out.items() if d.state is State.ELIGIBLE]
        assert len(eligible) == 1
        assert next(e for e in entries if e.hash == eligible[0]).seq == lowest.seq
