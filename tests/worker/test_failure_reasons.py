"""A failed record carries a typed ``reason`` next to the original's ``error`` text."""

from __future__ import annotations

import time

import httpx
from stellar_sdk import Keypair

from tests.builders import payment_tx, signed
from tests.fakenet import FakeStellarNetwork
from tests.worker.conftest import funded_payment, wait_for


def test_network_failure_reason_names_the_failing_operation(worker_app: httpx.Client,
                                                            net: FakeStellarNetwork) -> None:
    source = Keypair.random()
    net.ledger.create_account(source.public_key)
    seq = net.ledger.get_account(source.public_key).seq_num  # type: ignore[union-attr]
    te = payment_tx(source, seq=seq)  # to an account that does not exist
    worker_app.post("/tx", json={"network": "testnet", "xdr": signed(te, source), "submit": True})
    done = wait_for(worker_app, te.hash_hex(), {"processed", "failed"})
    assert done["status"] == "failed" and done["error"] == "Tx error: txFailed"
    assert done["reason"]["code"] == "op_no_destination"
    assert done["reason"]["resultCodes"]["transaction"] == "tx_failed"
    assert done["waitingFor"] is None


def test_expired_reason(worker_app: httpx.Client, net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    # Three seconds ahead, not one: int() may leave well under a second, and on a loaded machine
    # a POST arriving after "expires" is refused (400) instead of stored.
    created = worker_app.post("/tx", json={"network": "testnet", "xdr": p.envelope.to_xdr(),
                                           "submit": True, "expires": int(time.time()) + 3})
    assert created.status_code == 200, created.text
    done = wait_for(worker_app, p.hash, {"failed"}, timeout=60)
    assert done["reason"]["code"] == "expired" and "expired" in done["reason"]["message"]


def test_live_records_have_no_reason(worker_app: httpx.Client, net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    info = worker_app.post("/tx", json={"network": "testnet", "xdr": p.envelope.to_xdr()}).json()
    assert info["status"] == "pending" and info["reason"] is None and info["waitingFor"] is None
