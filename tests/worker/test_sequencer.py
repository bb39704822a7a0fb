"""Sequencing inputs gathered from a real store (both engines) and the fake network."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from stellar_sdk import Account, Keypair, Network, TextMemo, TransactionBuilder, TransactionEnvelope

from app.ledger.accounts import AccountSource, NetworkClients
from app.settings import NetworkSettings
from app.stellar.sequencing import State, WaitKind
from app.store.base import TxStore
from app.txs.model import TxRecord, TxStatus
from app.txs.view import tx_info
from app.worker.ordering import End, Go, Hold, Landed, Ordering, after_event, source_event
from app.worker.review import Reviewer
from app.worker.sequencer import Sequencer
from tests import loopback
from tests.fakenet import FakeStellarNetwork
from tests.fakenet.txkit import build, signed

PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE


@pytest.fixture
def sequencer(store: TxStore, net: FakeStellarNetwork) -> Iterator[Sequencer]:
    with loopback.ledger_http(timeout=10) as http:
        network = NetworkSettings("testnet", PASSPHRASE, net.rpc_url, None)
        clients = {"testnet": NetworkClients(network, http)}
        yield Sequencer(store, AccountSource(clients, ttl=60), {"testnet": PASSPHRASE})


def _record(env: TransactionEnvelope, status: TxStatus, source: str, **fields: object) -> TxRecord:
    now = time.time()
    base: dict[str, object] = {"hash": env.hash_hex(), "network": "testnet", "xdr": env.to_xdr(),
                               "status": status, "created_at": now, "updated_at": now,
                               "sources": [source], "signers": [source]}
    return TxRecord(**{**base, **fields})  # type: ignore[arg-type]


def _bump(t: TransactionBuilder) -> None:
    t.append_bump_sequence_op(0)


def test_view_orders_one_source_private_records_included_and_ignores_others(
        store: TxStore, net: FakeStellarNetwork, sequencer: Sequencer) -> None:
    s, other = Keypair.random(), Keypair.random()
    seq = net.ledger.create_account(s.public_key).seq_num
    net.ledger.create_account(other.public_key)
    n1, n2, n4 = (signed(build(net.ledger, s, _bump, seq=seq + i), s) for i in (0, 1, 3))
    foreign = signed(build(net.ledger, other, _bump), other)
    store.insert(_record(n4, TxStatus.READY, s.public_key))
    store.insert(_record(n2, TxStatus.READY, s.public_key))
    store.insert(_record(n1, TxStatus.PENDING, s.public_key, private=True, creator=s.public_key))
    # names s as a signer only: not one of s's transactions
    store.insert(_record(foreign, TxStatus.READY, other.public_key, signers=[s.public_key]))

    view = sequencer.view(store.get(n2.hash_hex()))  # type: ignore[arg-type]
    assert view is not None and view.source == s.public_key
    assert set(view.entries) == {n1.hash_hex(), n2.hash_hex(), n4.hash_hex()}
    d = view.decisions
    assert d[n1.hash_hex()].waiting_for.kind is WaitKind.SIGNATURES  # type: ignore[union-attr]
    assert d[n2.hash_hex()].waiting_for.hash == n1.hash_hex()  # type: ignore[union-attr]
    assert (d[n4.hash_hex()].state, d[n4.hash_hex()].missing) == (State.BLOCKED, ((seq + 3, seq + 3),))
    assert view.nxt.sequence == net.ledger.sequence + 1


def test_account_is_read_fresh_and_landed_siblings_supersede(
        store: TxStore, net: FakeStellarNetwork, sequencer: Sequencer) -> None:
    s = Keypair.random()
    seq = net.ledger.create_account(s.public_key).seq_num
    mine = signed(build(net.ledger, s, _bump), s)
    rival = signed(build(net.ledger, s, lambda t: _bump(t.add_memo(TextMemo("rival")))), s)
    store.insert(_record(mine, TxStatus.READY, s.public_key))
    first = sequencer.view(store.get(mine.hash_hex()))  # type: ignore[arg-type]
    assert first is not None and first.decisions[mine.hash_hex()].state is State.ELIGIBLE
    # The account cache would still say seq; the view reads it again.
    sequencer.accounts.load("testnet", [s.public_key])
    assert net.ledger.apply(rival.to_xdr()).successful
    store.insert(_record(rival, TxStatus.PROCESSED, s.public_key, submitted=int(time.time()),
                         result={"envelopeXdr": rival.to_xdr(), "ledger": net.ledger.sequence}))
    view = sequencer.view(store.get(mine.hash_hex()))  # type: ignore[arg-type]
    assert view is not None and view.account.sequence == seq + 1
    assert view.account.seq_ledger == net.ledger.sequence
    decision = view.decisions[mine.hash_hex()]
    assert (decision.state, decision.superseded_by) == (State.SUPERSEDED, rival.hash_hex())


def test_missing_source_account_leaves_it_to_the_network(store: TxStore, sequencer: Sequencer) -> None:
    s = Keypair.random()
    builder = TransactionBuilder(Account(s.public_key, 5), PASSPHRASE, 100)
    env = builder.append_bump_sequence_op(0).add_time_bounds(0, 0).build()
    store.insert(_record(env, TxStatus.READY, s.public_key))
    assert sequencer.view(store.get(env.hash_hex())) is None  # type: ignore[arg-type]


def test_a_decision_is_one_round_trip_and_decodes_each_envelope_once(
        store: TxStore, net: FakeStellarNetwork, sequencer: Sequencer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import app.worker.sequencer as module

    s = Keypair.random()
    seq = net.ledger.create_account(s.public_key).seq_num
    envs = [signed(build(net.ledger, s, _bump, seq=seq + i), s) for i in range(4)]
    for env in envs:
        store.insert(_record(env, TxStatus.READY, s.public_key))
    decoded: list[str] = []
    real = module.preconditions_from_xdr
    monkeypatch.setattr(module, "preconditions_from_xdr",
                        lambda xdr: decoded.append(xdr) or real(xdr))
    before = (net.request_count("getLedgerEntries"), net.request_count("getLatestLedger"))
    for env in envs:
        view = sequencer.view(store.get(env.hash_hex()))  # type: ignore[arg-type]
        assert view is not None and len(view.decisions) == 4
        # the ledger the account was read at, from the same answer
        assert view.nxt.sequence == net.ledger.sequence + 1
    after = (net.request_count("getLedgerEntries"), net.request_count("getLatestLedger"))
    assert (after[0] - before[0], after[1] - before[1]) == (4, 0)
    assert sorted(decoded) == sorted(e.to_xdr() for e in envs)  # four decisions, four decodes


def test_through_horizon_the_latest_ledger_is_asked_for(
        store: TxStore, net: FakeStellarNetwork) -> None:
    s = Keypair.random()
    net.ledger.create_account(s.public_key)
    env = signed(build(net.ledger, s, _bump), s)
    store.insert(_record(env, TxStatus.READY, s.public_key))
    with loopback.ledger_http(timeout=10) as http:
        network = NetworkSettings("testnet", PASSPHRASE, None, net.horizon_url)
        horizon = Sequencer(store, AccountSource({"testnet": NetworkClients(network, http)},
                                                 ttl=60), {"testnet": PASSPHRASE})
        before = net.request_count("GET /")
        view = horizon.view(store.get(env.hash_hex()))  # type: ignore[arg-type]
    assert view is not None and view.nxt.sequence == net.ledger.sequence + 1
    assert net.request_count("GET /") == before + 1


def test_fresh_reads_asked_while_one_is_on_the_way_go_together(
        net: FakeStellarNetwork) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from app.errors import UpstreamUnavailable

    keys = [Keypair.random() for _ in range(12)]
    seqs = {k.public_key: net.ledger.create_account(k.public_key).seq_num for k in keys}
    with loopback.ledger_http(timeout=10) as http:
        network = NetworkSettings("testnet", PASSPHRASE, net.rpc_url, None)
        accounts = AccountSource({"testnet": NetworkClients(network, http)}, ttl=60)
        # The first read is held 2 s by the network: the eleven asked meanwhile wait for it and
        # then go in one read (each sent after its caller asked).
        net.faults.add("getLedgerEntries", "timeout", times=1, seconds=2.0)
        before = net.request_count("getLedgerEntries")
        with ThreadPoolExecutor(len(keys)) as pool:
            first = pool.submit(accounts.fresh_at, "testnet", keys[0].public_key)
            wait_until_sent = time.monotonic() + 10
            while net.request_count("getLedgerEntries") == before:
                assert time.monotonic() < wait_until_sent
                time.sleep(0.01)
            rest = [pool.submit(accounts.fresh_at, "testnet", k.public_key) for k in keys[1:]]
            readings = [first.result(), *(f.result() for f in rest)]
        assert net.request_count("getLedgerEntries") - before == 2
        for key, (data, ledger) in zip(keys, readings, strict=True):
            assert (data.account_id, data.sequence) == (key.public_key, seqs[key.public_key])
            assert ledger == net.ledger.sequence
        # A failed read fails every caller it was for, and the next read is tried again.
        net.faults.add("getLedgerEntries", "http503", times=1)
        with pytest.raises(UpstreamUnavailable):
            accounts.fresh_at("testnet", keys[0].public_key)
        assert accounts.fresh_at("testnet", keys[0].public_key)[0].sequence == seqs[keys[0].public_key]


# -- what the scheduler is told to do ------------------------------------------------------


def _ordering(sequencer: Sequencer, net: FakeStellarNetwork) -> Ordering[str]:
    def lookup(record: TxRecord) -> str | None:
        found = net.ledger.get_transaction(record.hash)
        return None if found is None else found.hash

    return Ordering(sequencer, lookup)


def test_gate_lets_the_lowest_go_and_holds_the_rest(store: TxStore, net: FakeStellarNetwork,
                                                    sequencer: Sequencer) -> None:
    s = Keypair.random()
    seq = net.ledger.create_account(s.public_key).seq_num
    n1, n2 = (signed(build(net.ledger, s, _bump, seq=seq + i), s) for i in (0, 1))
    for env in (n2, n1):
        store.insert(_record(env, TxStatus.READY, s.public_key))
    ordering = _ordering(sequencer, net)
    assert isinstance(ordering.gate(store.get(n1.hash_hex())), Go)  # type: ignore[arg-type]
    held = ordering.gate(store.get(n2.hash_hex()))  # type: ignore[arg-type]
    assert isinstance(held, Hold)
    # it waits for n1 only: n1 ending wakes it, not every record of the source
    assert (held.event, held.after) == (after_event("testnet", n1.hash_hex()), n1.hash_hex())
    assert held.waiting_for == {"kind": "predecessor", "hash": n1.hash_hex()}
    assert held.at <= time.time() + 31  # a safety re-check, the event being the fast path


def test_gate_ends_consumed_records_after_a_lookup(store: TxStore, net: FakeStellarNetwork,
                                                   sequencer: Sequencer) -> None:
    s = Keypair.random()
    seq = net.ledger.create_account(s.public_key).seq_num
    landed = signed(build(net.ledger, s, _bump), s)
    lost = signed(build(net.ledger, s, lambda t: _bump(t.add_memo(TextMemo("lost")))), s)
    assert net.ledger.apply(landed.to_xdr()).successful  # applied by someone else
    outside = signed(build(net.ledger, s, _bump), s)
    for env in (landed, lost, outside):
        store.insert(_record(env, TxStatus.PENDING, s.public_key))
    assert net.ledger.apply(outside.to_xdr()).successful
    assert net.ledger.get_account(s.public_key).seq_num == seq + 2  # type: ignore[union-attr]
    ordering = _ordering(sequencer, net)
    view, actions = ordering.review(store.get(lost.hash_hex()))  # type: ignore[arg-type]
    assert view is not None
    assert actions[landed.hash_hex()] == Landed(landed.hash_hex())
    assert actions[outside.hash_hex()] == Landed(outside.hash_hex())
    # the sibling found applied in the same review is named
    ended = actions[lost.hash_hex()]
    assert isinstance(ended, End) and ended.reason["code"] == "superseded_by"
    assert ended.reason["hash"] == landed.hash_hex()
    # with nothing of ours holding that sequence, it is just consumed
    store.transition(landed.hash_hex(), TxStatus.PENDING, TxStatus.FAILED, {})
    alone = ordering.gate(store.get(lost.hash_hex()))  # type: ignore[arg-type]
    assert isinstance(alone, End) and alone.reason["code"] == "sequence_consumed"


def test_gate_waits_for_min_seq_age_until_the_time_it_holds(store: TxStore, net: FakeStellarNetwork,
                                                            sequencer: Sequencer) -> None:
    s = Keypair.random()
    net.ledger.create_account(s.public_key)
    assert net.ledger.apply(signed(build(net.ledger, s, _bump), s).to_xdr()).successful
    seq_time = net.ledger.get_account(s.public_key).seq_time  # type: ignore[union-attr]
    aged = signed(build(net.ledger, s, lambda t: _bump(t.set_min_sequence_age(20))), s)
    store.insert(_record(aged, TxStatus.READY, s.public_key))
    held = _ordering(sequencer, net).gate(store.get(aged.hash_hex()))  # type: ignore[arg-type]
    assert isinstance(held, Hold) and held.at == seq_time + 20
    assert held.waiting_for == {"kind": "minSeqAge", "at": seq_time + 20, "notBefore": seq_time + 20}
    # waiting for a time, not for a record: parked on the source's event
    assert (held.event, held.after) == (source_event("testnet", s.public_key), None)


# -- reviewing a source's queue: writes to the store -----------------------------------------


def _reviewer(store: TxStore, sequencer: Sequencer, net: FakeStellarNetwork,
              finished: list[str]) -> Reviewer[str]:
    return Reviewer(store, _ordering(sequencer, net),
                    landed=lambda found: (TxStatus.PROCESSED, {"result": {"ledger": net.ledger.sequence,
                                                                          "successful": True}}),
                    on_final=lambda before, status, fields: finished.append(before.hash))


def test_review_ends_what_can_never_apply_and_tells_the_rest_what_they_wait_for(
        store: TxStore, net: FakeStellarNetwork, sequencer: Sequencer) -> None:
    s = Keypair.random()
    seq = net.ledger.create_account(s.public_key).seq_num
    applied_elsewhere = signed(build(net.ledger, s, _bump), s)
    consumed = signed(build(net.ledger, s, lambda t: _bump(t.add_memo(TextMemo("x")))), s)
    n2 = signed(build(net.ledger, s, _bump, seq=seq + 1), s)
    n4 = signed(build(net.ledger, s, _bump, seq=seq + 3), s)
    store.insert(_record(applied_elsewhere, TxStatus.PENDING, s.public_key))
    store.insert(_record(consumed, TxStatus.PENDING, s.public_key))
    store.insert(_record(n2, TxStatus.READY, s.public_key))
    store.insert(_record(n4, TxStatus.READY, s.public_key))
    assert net.ledger.apply(applied_elsewhere.to_xdr()).successful

    finished: list[str] = []
    result = _reviewer(store, sequencer, net, finished).review(store.get(n2.hash_hex()))  # type: ignore[arg-type]
    assert result.landed == [applied_elsewhere.hash_hex()]
    assert result.ended == [consumed.hash_hex()]
    assert sorted(finished) == sorted([applied_elsewhere.hash_hex(), consumed.hash_hex()])
    assert result.eligible == [n2.hash_hex()]

    lost = tx_info(store.get(consumed.hash_hex()))  # type: ignore[arg-type]
    assert lost["status"] == "failed"
    assert (lost["reason"]["code"], lost["reason"]["hash"]) == ("superseded_by", applied_elsewhere.hash_hex())
    assert lost["error"] == lost["reason"]["message"]
    assert tx_info(store.get(applied_elsewhere.hash_hex()))["status"] == "processed"  # type: ignore[arg-type]
    waiting = tx_info(store.get(n4.hash_hex()))  # type: ignore[arg-type]
    assert waiting["status"] == "ready"
    missing = [{"from": str(seq + 3), "to": str(seq + 3)}]
    assert waiting["waitingFor"] == {"kind": "blocked", "missing": missing, "missingCount": 1}
    # n2 lands and a record for the missing n3 arrives: n4 now waits for it
    assert net.ledger.apply(n2.to_xdr()).successful
    store.transition(n2.hash_hex(), TxStatus.READY, TxStatus.PROCESSED,
                     {"submitted": 1, "result": {"envelopeXdr": n2.to_xdr(), "ledger": 1}})
    n3 = signed(build(net.ledger, s, _bump), s)
    store.insert(_record(n3, TxStatus.PENDING, s.public_key))
    again = _reviewer(store, sequencer, net, finished).review(store.get(n4.hash_hex()))  # type: ignore[arg-type]
    assert again.ended == [] and again.eligible == []
    assert tx_info(store.get(n4.hash_hex()))["waitingFor"] == {  # type: ignore[arg-type]
        "kind": "predecessor", "hash": n3.hash_hex()}
