"""Transactions from one source go out one at a time, in sequence order; stale, superseded and
blocked records are recognised; CAP-21 preconditions hold a record until it can be valid.

The fake network keeps one queued transaction per source for a short while, like stellar-core,
so a submitter that ignores ordering gets TRY_AGAIN_LATER and txBAD_SEQ answers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from stellar_sdk import Asset, Keypair, TextMemo, TransactionBuilder, TransactionEnvelope

from tests.app_server import app_settings, running_app
from tests.fakenet import FakeStellarNetwork
from tests.fakenet.txkit import build, signed
from tests.processes import AppProcess
from tests.worker.conftest import SECRET, db_for, wait_for, wait_until

ADMIN = {"Authorization": "Bearer " + "a" * 32}
QUEUE_SECONDS = 0.3


@pytest.fixture(params=["sqlite", "mongodb"])
def app(request: pytest.FixtureRequest, net: FakeStellarNetwork, tmp_path: Path) -> Iterator[httpx.Client]:
    net.ledger.queue_seconds = QUEUE_SECONDS
    settings = app_settings(net.rpc_url, None, db_for(request.param, request, tmp_path),
                            storage=request.param, retryDelay=50, networkTimeout=5, leaseSeconds=20,
                            adminToken="a" * 32, sequenceReviewSeconds=1, ledgerCloseSeconds=0.5,
                            callbacks={"allowPrivateNetworks": True, "timeout": 1, "secret": SECRET})
    with running_app(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield client


def payment(net: FakeStellarNetwork, kp: Keypair, seq: int, memo: str = "",
            extra: Callable[[TransactionBuilder], Any] | None = None) -> TransactionEnvelope:
    """A payment from kp with sequence number seq + 1."""
    def ops(t: TransactionBuilder) -> None:
        t.append_payment_op(kp.public_key, Asset.native(), "1")
        if memo:
            t.add_memo(TextMemo(memo))
        if extra is not None:
            extra(t)

    return build(net.ledger, kp, ops, seq=seq)


def post(client: httpx.Client, xdr: str, **extra: object) -> dict[str, Any]:
    r = client.post("/tx", json={"network": "testnet", "xdr": xdr, "submit": True, **extra})
    assert r.status_code == 200, r.text
    return dict(r.json())


def sends(net: FakeStellarNetwork, tx_hash: str) -> list[str]:
    return [s.code for s in net.ledger.submissions_of(tx_hash)]


def waiting_kind(client: httpx.Client, tx_hash: str) -> str | None:
    waiting = client.get(f"/tx/{tx_hash}").json()["waitingFor"]
    return None if waiting is None else str(waiting["kind"])


def refusals(net: FakeStellarNetwork) -> list[str]:
    return [s.code for s in net.ledger.submissions if s.code in ("TRY_AGAIN_LATER", "txBAD_SEQ")]


def account(net: FakeStellarNetwork) -> tuple[Keypair, int]:
    kp = Keypair.random()
    return kp, net.ledger.create_account(kp.public_key).seq_num


@pytest.mark.parametrize("order", [(2, 0, 1), (0, 1, 2), (2, 1, 0)], ids=["n3-first", "in-order", "reversed"])
def test_a_chain_ready_at_once_goes_in_order_each_once(app: httpx.Client, net: FakeStellarNetwork,
                                                       order: tuple[int, int, int]) -> None:
    kp, seq = account(net)
    chain = [signed(payment(net, kp, seq + i), kp) for i in range(3)]
    app.post("/monitoring/queue/pause", headers=ADMIN).raise_for_status()
    for i in order:
        post(app, chain[i].to_xdr())
    app.post("/monitoring/queue/resume", headers=ADMIN).raise_for_status()
    for env in chain:
        done = wait_for(app, env.hash_hex(), {"processed", "failed"})
        assert done["status"] == "processed", done["error"]
    assert [sends(net, env.hash_hex()) for env in chain] == [["txSUCCESS"]] * 3
    received = [net.ledger.submissions_of(env.hash_hex())[0].received_at for env in chain]
    assert received == sorted(received)
    assert refusals(net) == []


@pytest.mark.parametrize("engine", ["sqlite", "mongodb"])
def test_one_record_ending_wakes_the_next_in_line_not_the_whole_queue(
        engine: str, request: pytest.FixtureRequest, net: FakeStellarNetwork,
        tmp_path: Path) -> None:
    # Every decision reads the source account once (getLedgerEntries): counting those counts
    # decisions. Reviews only run when a record ends (no periodic ones in this test's time),
    # requests find the account in the cache, and nothing is held in the network's queue.
    settings = app_settings(net.rpc_url, None, db_for(engine, request, tmp_path), storage=engine,
                            adminToken="a" * 32, sequenceReviewSeconds=3600, accountCacheTtl=3600)
    kp, seq = account(net)
    size = 16
    chain = [signed(payment(net, kp, seq + i), kp) for i in range(size)]
    with running_app(settings) as base, httpx.Client(base_url=base, timeout=30) as app:
        app.post("/monitoring/queue/pause", headers=ADMIN).raise_for_status()
        for env in reversed(chain):  # each one's predecessor still to come
            post(app, env.to_xdr())
        before = net.request_count("getLedgerEntries")
        started = time.monotonic()
        app.post("/monitoring/queue/resume", headers=ADMIN).raise_for_status()
        for env in chain:
            done = wait_for(app, env.hash_hex(), {"processed", "failed"}, timeout=120)
            assert done["status"] == "processed", done["error"]
        reads = net.request_count("getLedgerEntries") - before
        elapsed = time.monotonic() - started
    assert [sends(net, env.hash_hex()) for env in chain] == [["txSUCCESS"]] * size
    # Each record is decided when its job first runs and once more when its predecessor ends,
    # and each end queues one review: 3 per record (46 measured on both engines), 4 if every
    # predecessor ended between a decision and its park (the gate then decides again). Waking
    # every parked record of the source at each end cost size * (size - 1) / 2 more (190
    # reads in all). A parked record also looks again every 30 s as a safety net: allowed for,
    # on a slow machine.
    allowed = 5 * size + size * int(elapsed // 30)
    assert reads <= allowed, (reads, allowed, elapsed)


def test_same_sequence_one_lands_the_other_is_superseded(app: httpx.Client, net: FakeStellarNetwork) -> None:
    kp, seq = account(net)
    a = signed(payment(net, kp, seq, memo="a"), kp)
    b = signed(payment(net, kp, seq, memo="b"), kp)
    app.post("/monitoring/queue/pause", headers=ADMIN).raise_for_status()
    post(app, a.to_xdr())
    post(app, b.to_xdr())
    app.post("/monitoring/queue/resume", headers=ADMIN).raise_for_status()
    final = {e.hash_hex(): wait_for(app, e.hash_hex(), {"processed", "failed"}) for e in (a, b)}
    winner = next(h for h, d in final.items() if d["status"] == "processed")
    loser = next(h for h in final if h != winner)
    assert final[loser]["status"] == "failed"
    assert final[loser]["reason"]["code"] == "superseded_by"
    assert final[loser]["reason"]["hash"] == winner
    assert sends(net, loser) == []  # never sent: it waited for its sibling
    assert refusals(net) == []


def test_pending_record_whose_sequence_is_consumed_outside_ends_without_an_attempt(
        app: httpx.Client, net: FakeStellarNetwork) -> None:
    kp, seq = account(net)
    mine = payment(net, kp, seq, memo="mine")
    assert post(app, mine.to_xdr())["status"] == "pending"  # unsigned
    outside = signed(payment(net, kp, seq, memo="outside"), kp)
    net.ledger.queue_seconds = 0
    assert net.ledger.apply(outside.to_xdr()).successful
    done = wait_for(app, mine.hash_hex(), {"failed"}, timeout=30)
    assert done["reason"]["code"] == "sequence_consumed"
    assert sends(net, mine.hash_hex()) == []


def test_a_gap_is_reported_and_filled(app: httpx.Client, net: FakeStellarNetwork) -> None:
    kp, seq = account(net)
    n1, n2 = (signed(payment(net, kp, seq + i), kp) for i in (0, 1))
    post(app, n2.to_xdr())
    wait_until(lambda: waiting_kind(app, n2.hash_hex()) == "blocked")
    info = app.get(f"/tx/{n2.hash_hex()}").json()
    assert info["status"] == "ready"
    assert info["waitingFor"]["missing"] == [{"from": str(seq + 1), "to": str(seq + 1)}]
    assert sends(net, n2.hash_hex()) == []
    post(app, n1.to_xdr())
    for env in (n1, n2):
        assert wait_for(app, env.hash_hex(), {"processed", "failed"})["status"] == "processed"
    first, second = (net.ledger.submissions_of(e.hash_hex()) for e in (n1, n2))
    assert len(first) == len(second) == 1 and first[0].received_at < second[0].received_at
    assert refusals(net) == []


def test_min_seq_age_holds_the_record_until_it_can_be_valid(app: httpx.Client,
                                                           net: FakeStellarNetwork) -> None:
    kp, seq = account(net)
    net.ledger.queue_seconds = 0
    net.ledger.apply(signed(build(net.ledger, kp, lambda t: t.append_bump_sequence_op(0)), kp).to_xdr())
    seq_time = net.ledger.get_account(kp.public_key).seq_time  # type: ignore[union-attr]
    aged = signed(payment(net, kp, seq + 1, extra=lambda t: t.set_min_sequence_age(3)), kp)
    post(app, aged.to_xdr())
    wait_until(lambda: waiting_kind(app, aged.hash_hex()) == "minSeqAge" or sends(net, aged.hash_hex()) != [])
    done = wait_for(app, aged.hash_hex(), {"processed", "failed"})
    assert done["status"] == "processed", done["error"]
    (sent,) = net.ledger.submissions_of(aged.hash_hex())
    assert sent.code == "txSUCCESS" and sent.received_at >= seq_time + 3 - 1  # second granularity


def test_ledger_bounds_hold_then_submit_and_max_ledger_expires(app: httpx.Client,
                                                              net: FakeStellarNetwork) -> None:
    kp, seq = account(net)
    other, other_seq = account(net)
    start = net.ledger.sequence
    later = signed(payment(net, kp, seq, extra=lambda t: t.set_ledger_bounds(start + 4, 0)), kp)
    post(app, later.to_xdr())
    wait_until(lambda: waiting_kind(app, later.hash_hex()) == "ledger")
    assert app.get(f"/tx/{later.hash_hex()}").json()["waitingFor"]["ledger"] == start + 4
    assert sends(net, later.hash_hex()) == []
    net.ledger.close_ledger(3)  # the next ledger is start + 4
    assert wait_for(app, later.hash_hex(), {"processed", "failed"})["status"] == "processed"
    assert sends(net, later.hash_hex()) == ["txSUCCESS"]

    closing = payment(net, other, other_seq, extra=lambda t: t.set_ledger_bounds(0, net.ledger.sequence + 3))
    assert post(app, closing.to_xdr())["status"] == "pending"
    net.ledger.close_ledger(2)  # maxLedger is exclusive: the next ledger is no longer allowed
    # (the periodic review may end it before the signature arrives)
    app.post("/tx", json={"network": "testnet", "xdr": signed(closing, other).to_xdr()})
    done = wait_for(app, closing.hash_hex(), {"processed", "failed"})
    assert (done["status"], done["reason"]["code"]) == ("failed", "expired")
    assert sends(net, closing.hash_hex()) == []


def test_random_arrival_of_several_chains(app: httpx.Client, net: FakeStellarNetwork) -> None:
    chains = []
    for _ in range(4):
        kp, seq = account(net)
        chains.append([signed(payment(net, kp, seq + i), kp) for i in range(4)])
    everything = [e for chain in chains for e in chain]
    random.Random(14).shuffle(everything)
    for env in everything:
        post(app, env.to_xdr())
    for env in everything:
        assert wait_for(app, env.hash_hex(), {"processed", "failed"}, timeout=60)["status"] == "processed"
    for chain in chains:
        times = [net.ledger.submissions_of(e.hash_hex()) for e in chain]
        assert all(len(t) == 1 for t in times)
        assert [t[0].received_at for t in times] == sorted(t[0].received_at for t in times)
    assert refusals(net) == []


@pytest.mark.slow
def test_four_processes_fifty_accounts_five_sequential_transactions(
        cluster_config: dict[str, Any], net: FakeStellarNetwork, processes: list[AppProcess],
        tmp_path: Path) -> None:
    net.ledger.queue_seconds = QUEUE_SECONDS
    config = {**cluster_config, "sequenceReviewSeconds": 2, "ledgerCloseSeconds": 0.5}
    for i in range(4):
        processes.append(AppProcess(config, tmp_path, f"app{i}").start())
    # The size on both engines (on the MongoDB-wire test server, about 200 s on a loaded
    # 2-core machine: a decision reads the source's records in one query when they fit a page).
    accounts = 50
    chains = []
    for _ in range(accounts):
        kp, seq = account(net)
        chains.append([signed(payment(net, kp, seq + i), kp) for i in range(5)])
    bodies = [(i, env) for i, env in enumerate(e for chain in chains for e in chain)]
    random.Random(5).shuffle(bodies)

    def one(item: tuple[int, TransactionEnvelope]) -> None:
        i, env = item
        with httpx.Client(base_url=processes[i % 4].url, timeout=60) as client:
            r = client.post("/tx", json={"network": "testnet", "xdr": env.to_xdr(), "submit": True})
            assert r.status_code == 200, r.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, bodies))
    hashes = [env.hash_hex() for chain in chains for env in chain]
    # Returns as soon as they are all in; at load 20-30, next to another worker, 300 s was short.
    wait_until(lambda: len(net.ledger.transactions()) >= len(hashes), timeout=600)
    with httpx.Client(base_url=processes[0].url, timeout=60) as client:
        # The last records learn their outcome at their next look-up, shortly after the ledger.
        # Each pass asks only about records not processed yet (250 requests a pass at first
        # take a while on a loaded machine).
        left = dict.fromkeys(hashes, "")
        deadline = time.monotonic() + 180
        while left and time.monotonic() < deadline:
            for h in list(left):
                info = client.get(f"/tx/{h}").json()
                if info["status"] == "processed":
                    del left[h]
                else:
                    left[h] = f"{info['status']} {info.get('waitingFor')} {info.get('error')}"
            time.sleep(0.5 if left else 0)
        assert not left, ("records without their outcome", left)
    for chain in chains:
        sent = [net.ledger.submissions_of(e.hash_hex()) for e in chain]
        assert all(len(s) == 1 for s in sent), ("a transaction was sent more than once",
            [[(x.received_at, x.via, x.status, x.code) for x in s] for s in sent])
        assert [s[0].received_at for s in sent] == sorted(s[0].received_at for s in sent)
    assert refusals(net) == []


def test_try_again_later_holds_the_record_and_never_fails_it(app: httpx.Client,
                                                             net: FakeStellarNetwork) -> None:
    kp, seq = account(net)
    net.ledger.queue_seconds = None  # an outside transaction of the source stays queued
    outside = signed(payment(net, kp, seq, memo="outside"), kp)
    assert net.ledger.apply(outside.to_xdr()).status == "queued"
    mine = signed(payment(net, kp, seq, memo="mine"), kp)
    post(app, mine.to_xdr())
    # more TRY_AGAIN_LATER answers than the retry budget (retryAttempts 5), and still not failed
    wait_until(lambda: sends(net, mine.hash_hex()).count("TRY_AGAIN_LATER") >= 8, timeout=60)
    assert app.get(f"/tx/{mine.hash_hex()}").json()["status"] in ("ready", "processing")
    net.ledger.release()  # the outside transaction lands: this one's sequence is used
    done = wait_for(app, mine.hash_hex(), {"processed", "failed"})
    assert done["status"] == "failed" and "stale" in done["error"]
    assert done["reason"]["code"] == "sequence_consumed"
