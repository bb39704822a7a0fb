"""Submission through Horizon (the default for ``public``, no RPC configured): the same fault matrix
as the RPC path, against the strict fake network, both engines."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair

from tests import loopback
from tests.app_server import app_settings, running_app
from tests.builders import payment_tx, signed
from tests.conftest import ENGINES
from tests.fakenet import FakeStellarNetwork
from tests.worker.conftest import db_for, funded_payment, wait_for

ROUTE = "POST /transactions"


@pytest.fixture(params=ENGINES)
def horizon_app(request: pytest.FixtureRequest, net: FakeStellarNetwork,
                tmp_path: Path) -> Iterator[httpx.Client]:
    settings = app_settings(None, net.horizon_url, db_for(request.param, request, tmp_path),
                            storage=request.param, retryDelay=50, networkTimeout=2,
                            leaseSeconds=20)
    with running_app(settings) as base, loopback.client(base_url=base, timeout=30) as client:
        yield client


def submit(client: httpx.Client, xdr: str) -> None:
    r = client.post("/tx", json={"network": "testnet", "xdr": xdr, "submit": True})
    assert r.status_code == 200, r.text


def sent(net: FakeStellarNetwork, tx_hash: str) -> list[str]:
    return [s.envelope_xdr for s in net.ledger.submissions_of(tx_hash)]


def test_200_is_processed_once(horizon_app: httpx.Client, net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    submit(horizon_app, p.signed())
    done = wait_for(horizon_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed", done["error"]
    assert done["result"]["successful"] and done["result"]["ledger"]
    assert len(sent(net, p.hash)) == 1
    assert net.request_count("GET /transactions") == 0  # nothing ambiguous: no lookup needed


def test_504_then_lookup_finds_it_applied(horizon_app: httpx.Client,
                                          net: FakeStellarNetwork) -> None:
    net.faults.add(ROUTE, "apply_then_http504")
    p = funded_payment(net)
    submit(horizon_app, p.signed())
    done = wait_for(horizon_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed", done["error"]
    assert net.request_count(ROUTE) == 1  # found by hash: never sent again
    assert net.request_count("GET /transactions") >= 1


def test_504_then_not_found_is_resent_identically(horizon_app: httpx.Client,
                                                  net: FakeStellarNetwork) -> None:
    net.faults.add(ROUTE, "http504")
    p = funded_payment(net)
    submit(horizon_app, p.signed())
    done = wait_for(horizon_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed", done["error"]
    assert net.request_count(ROUTE) == 2
    assert len(set(sent(net, p.hash))) == 1  # the same bytes both times
    assert net.ledger.get_transaction(p.hash) is not None


def test_connection_dropped_after_apply_is_not_resent(horizon_app: httpx.Client,
                                                      net: FakeStellarNetwork) -> None:
    net.faults.add(ROUTE, "apply_then_drop")
    p = funded_payment(net)
    submit(horizon_app, p.signed())
    done = wait_for(horizon_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed", done["error"]
    assert net.request_count(ROUTE) == 1


def test_400_tx_failed_reports_operation_codes(horizon_app: httpx.Client,
                                               net: FakeStellarNetwork) -> None:
    source = Keypair.random()
    net.ledger.create_account(source.public_key)
    seq = net.ledger.get_account(source.public_key).seq_num  # type: ignore[union-attr]
    te = payment_tx(source, seq=seq)  # to an account that does not exist
    submit(horizon_app, signed(te, source))
    done = wait_for(horizon_app, te.hash_hex(), {"processed", "failed"})
    assert done["status"] == "failed" and done["error"] == "Tx error: txFailed"
    assert done["result"]["transactionCode"] == "tx_failed"
    assert done["result"]["operationCodes"] == ["op_no_destination"]
    assert net.request_count(ROUTE) == 1  # a definite answer: not retried


def test_400_tx_bad_seq_stale_fails(horizon_app: httpx.Client, net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    account = net.ledger.get_account(p.source.public_key)
    assert account is not None
    net.ledger.update_account(p.source.public_key, seq_num=account.seq_num + 5)
    submit(horizon_app, p.signed())
    done = wait_for(horizon_app, p.hash, {"processed", "failed"})
    assert done["status"] == "failed" and "stale" in done["error"]
    # per-source ordering saw the consumed sequence, looked the hash up, and never sent it
    assert done["reason"]["code"] == "sequence_consumed"
    assert net.ledger.submissions_of(p.hash) == []


def test_400_tx_bad_seq_for_an_applied_transaction_is_success(horizon_app: httpx.Client,
                                                              net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    assert net.ledger.apply(p.signed()).successful  # someone else submitted it first
    submit(horizon_app, p.signed())
    done = wait_for(horizon_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed", done["error"]


def test_400_tx_insufficient_balance_fails(horizon_app: httpx.Client,
                                           net: FakeStellarNetwork) -> None:
    source, dest = Keypair.random(), Keypair.random()
    net.ledger.create_account(source.public_key, balance=1)  # cannot even pay the fee
    net.ledger.create_account(dest.public_key)
    seq = net.ledger.get_account(source.public_key).seq_num  # type: ignore[union-attr]
    te = payment_tx(source, seq=seq, destination=dest.public_key)
    submit(horizon_app, signed(te, source))
    done = wait_for(horizon_app, te.hash_hex(), {"processed", "failed"})
    assert done["status"] == "failed"
    assert done["result"]["transactionCode"] == "tx_insufficient_balance", done["result"]


def test_503_is_try_again_later_and_retried(horizon_app: httpx.Client,
                                            net: FakeStellarNetwork) -> None:
    net.faults.add(ROUTE, "http503", times=2)
    p = funded_payment(net)
    submit(horizon_app, p.signed())
    done = wait_for(horizon_app, p.hash, {"processed", "failed"})
    assert done["status"] == "processed", done["error"]
    assert net.request_count(ROUTE) == 3


def test_a_retry_waits_as_ready_with_its_next_attempt(horizon_app: httpx.Client,
                                                      net: FakeStellarNetwork) -> None:
    """Between attempts a record is ``ready`` with ``nextAttemptAt``, not ``processing``."""
    net.faults.add(ROUTE, "http503", times=100)
    p = funded_payment(net)
    submit(horizon_app, p.signed())
    deadline = time.monotonic() + 30
    while True:
        body = horizon_app.get(f"/tx/{p.hash}").json()
        if body["nextAttemptAt"] is not None:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.02)
    assert body["status"] == "ready"
    assert "503" in body["result"]["lastError"]
    net.faults.clear()
    assert wait_for(horizon_app, p.hash, {"processed", "failed"})["status"] == "processed"
    assert horizon_app.get(f"/tx/{p.hash}").json()["nextAttemptAt"] is None
