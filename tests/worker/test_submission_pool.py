"""The submission pool is a few threads (``maxParallelTasks``), and a small pool is not held by one
busy source: while a long chain of one account waits for ledger after ledger, records of other
accounts posted after it go out (both engines)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from stellar_sdk import Asset, Keypair, TransactionEnvelope

from tests import loopback
from tests.app_server import app_settings, running_app
from tests.conftest import ENGINES
from tests.fakenet import FakeStellarNetwork
from tests.fakenet.txkit import build, signed
from tests.worker.conftest import db_for, wait_for

ADMIN = {"Authorization": "Bearer " + "a" * 32}
POOL = 2
CHAIN = 8


def _submission_threads(before: set[threading.Thread]) -> int:
    # Threads compared as objects: a new thread may reuse the ident of one that ended since.
    return sum(1 for t in threading.enumerate()
               if t.name.startswith("refractor-submit_transaction") and t not in before)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES)
def test_a_long_chain_does_not_hold_a_small_pool(engine: str, request: pytest.FixtureRequest,
                                                 net: FakeStellarNetwork, tmp_path: Path) -> None:
    # Each of the chain's transactions is applied a ledger after it was accepted, so the chain
    # needs at least CHAIN - 1 ledgers of 0.5 s; the others need none.
    net.ledger.queue_seconds = 0.5
    settings = app_settings(net.rpc_url, None, db_for(engine, request, tmp_path), storage=engine,
                            adminToken="a" * 32, parallelTasks=POOL, minParallelTasks=POOL,
                            maxParallelTasks=POOL, adaptiveConcurrency=False, retryDelay=50,
                            networkTimeout=5, ledgerCloseSeconds=0.5, sequenceReviewSeconds=1)
    busy = Keypair.random()
    seq = net.ledger.create_account(busy.public_key).seq_num

    def pay(kp: Keypair, sequence: int) -> TransactionEnvelope:
        return signed(build(net.ledger, kp, lambda t: t.append_payment_op(
            kp.public_key, Asset.native(), "1"), seq=sequence), kp)

    chain = [pay(busy, seq + i) for i in range(CHAIN)]
    others = []
    for _ in range(6):
        kp = Keypair.random()
        others.append(pay(kp, net.ledger.create_account(kp.public_key).seq_num))
    before = set(threading.enumerate())  # other tests' apps in this process
    most = 0
    with running_app(settings) as base, loopback.client(base_url=base, timeout=30) as app:
        app.post("/monitoring/queue/pause", headers=ADMIN).raise_for_status()
        for env in [*reversed(chain), *others]:  # the chain first, highest sequence first
            r = app.post("/tx", json={"network": "testnet", "xdr": env.to_xdr(), "submit": True})
            assert r.status_code == 200, r.text
        app.post("/monitoring/queue/resume", headers=ADMIN).raise_for_status()
        for env in [*others, *chain]:
            deadline = time.monotonic() + 120
            while True:
                most = max(most, _submission_threads(before))
                if app.get(f"/tx/{env.hash_hex()}").json()["status"] in ("processed", "failed"):
                    break
                assert time.monotonic() < deadline, "not processed in time"
                time.sleep(0.02)
            assert wait_for(app, env.hash_hex(), {"processed"})["status"] == "processed"
    assert 1 <= most <= POOL, most
    last_of_chain = net.ledger.submissions_of(chain[-1].hash_hex())[0].received_at
    for env in others:
        sent = net.ledger.submissions_of(env.hash_hex())
        assert len(sent) == 1 and sent[0].received_at < last_of_chain, "waited behind the chain"
