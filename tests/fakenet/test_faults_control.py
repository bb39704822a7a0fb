"""Fault injection, the /_fake control API, the CLI and the request rate."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair, Server, SorobanServer
from stellar_sdk.exceptions import BadResponseError, SorobanRpcErrorResponse
from stellar_sdk.soroban_rpc import GetTransactionStatus, SendTransactionStatus

from .server import FakeStellarNetwork
from .txkit import build, signed

ROOT = Path(__file__).resolve().parents[2]


def _bump_xdr(net: FakeStellarNetwork, kp: Keypair) -> str:
    if net.ledger.get_account(kp.public_key) is None:
        net.ledger.create_account(kp.public_key)
    return signed(build(net.ledger, kp, lambda t: t.append_bump_sequence_op(0)), kp).to_xdr()


def _rpc(method: str, **params: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}


def test_try_again_later_then_pending(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    envelope = _bump_xdr(net, keys[0])
    net.faults.add("sendTransaction", "TRY_AGAIN_LATER", times=2)
    rpc = SorobanServer(net.rpc_url)
    statuses = [rpc.send_transaction(envelope).status for _ in range(3)]
    assert statuses == [SendTransactionStatus.TRY_AGAIN_LATER] * 2 + [SendTransactionStatus.PENDING]
    assert [s.status for s in net.ledger.submissions] == ["fault", "fault", "applied"]
    assert len(net.ledger.transactions()) == 1 and net.request_count("sendTransaction") == 3


def test_drop_and_apply_then_drop(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    envelope = _bump_xdr(net, keys[0])
    net.faults.add("sendTransaction", "drop")
    net.faults.add("sendTransaction", "apply_then_drop")
    with httpx.Client() as client:
        for _ in range(2):
            with pytest.raises(httpx.TransportError):
                client.post(net.rpc_url, json=_rpc("sendTransaction", transaction=envelope))
        assert [s.status for s in net.ledger.submissions] == ["applied"]
        again = client.post(net.rpc_url, json=_rpc("sendTransaction", transaction=envelope)).json()
    assert again["result"]["status"] == "ERROR"  # already applied: the sequence is spent
    tx_hash = again["result"]["hash"]
    assert SorobanServer(net.rpc_url).get_transaction(tx_hash).status == GetTransactionStatus.SUCCESS


def test_timeout_delays_the_answer(net: FakeStellarNetwork) -> None:
    net.faults.add("getHealth", "timeout", seconds=0.3)
    net.faults.add("getHealth", "timeout", seconds=30)
    with httpx.Client(timeout=30) as client:
        started = time.monotonic()
        assert client.post(net.rpc_url, json=_rpc("getHealth")).json()["result"]["status"] == "healthy"
        assert time.monotonic() - started >= 0.3
        with pytest.raises(httpx.ReadTimeout):
            client.post(net.rpc_url, json=_rpc("getHealth"), timeout=0.2)
    started = time.monotonic()
    net.stop()  # a handler still sleeping (30 s) must not hold up the shutdown
    assert time.monotonic() - started < 15  # the margin is for a loaded machine


def test_http_errors(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    net.faults.add("getNetwork", "http500")
    with pytest.raises(BadResponseError):
        SorobanServer(net.rpc_url).get_network()
    net.faults.add("GET /accounts", "http500")
    with pytest.raises(BadResponseError):
        Server(net.horizon_url).accounts().account_id(keys[0].public_key).call()
    net.faults.add("GET /", "http503")
    unavailable = httpx.get(net.horizon_url + "/")
    assert (unavailable.status_code, unavailable.json()["status"]) == (503, 503)
    envelope = _bump_xdr(net, keys[1])
    net.faults.add("POST /transactions", "apply_then_http504")
    answer = httpx.post(net.horizon_url + "/transactions", data={"tx": envelope})
    assert (answer.status_code, answer.json()["type"]) == (504, "https://stellar.org/horizon-errors/timeout")
    assert net.ledger.transactions()[0].envelope_xdr == envelope


def test_results_hidden_for_the_first_polls(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    rpc = SorobanServer(net.rpc_url)
    net.faults.hide_results(2)
    tx_hash = rpc.send_transaction(_bump_xdr(net, keys[0])).hash
    assert rpc.get_transaction(tx_hash).status == GetTransactionStatus.NOT_FOUND
    assert httpx.get(f"{net.horizon_url}/transactions/{tx_hash}").status_code == 404
    assert rpc.get_transaction(tx_hash).status == GetTransactionStatus.SUCCESS
    net.faults.add("getTransaction", "NOT_FOUND")
    assert rpc.get_transaction(tx_hash).status == GetTransactionStatus.NOT_FOUND
    assert rpc.get_transaction(tx_hash).status == GetTransactionStatus.SUCCESS


def test_status_faults_and_rpc_errors(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    rpc = SorobanServer(net.rpc_url)
    envelope = _bump_xdr(net, keys[0])
    net.faults.add("sendTransaction", "DUPLICATE")
    net.faults.add("sendTransaction", "apply_then_DUPLICATE")
    net.faults.add("sendTransaction", "rpc_error", code=-32603, message="boom")
    assert rpc.send_transaction(envelope).status == SendTransactionStatus.DUPLICATE
    assert net.ledger.transactions() == []
    assert rpc.send_transaction(envelope).status == SendTransactionStatus.DUPLICATE
    assert len(net.ledger.transactions()) == 1
    with pytest.raises(SorobanRpcErrorResponse) as boom:
        rpc.send_transaction(envelope)
    assert (boom.value.code, boom.value.message) == (-32603, "boom")
    net.faults.add("POST /transactions_async", "TRY_AGAIN_LATER")
    later = httpx.post(net.horizon_url + "/transactions_async", data={"tx": _bump_xdr(net, keys[1])})
    assert (later.status_code, later.json()["tx_status"]) == (503, "TRY_AGAIN_LATER")


def test_fault_queue_rejects_unknown_names(net: FakeStellarNetwork) -> None:
    with pytest.raises(ValueError):
        net.faults.add("sendTransactions", "drop")
    with pytest.raises(ValueError):
        net.faults.add("sendTransaction", "explode")


def test_control_api(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s, a = keys[:2]
    with httpx.Client(base_url=net.control_url) as c:
        made = c.post(
            "/accounts",
            json={"id": s.public_key, "seq": 9, "low": 1, "signers": [{"key": a.public_key, "weight": 1}]},
        )
        assert made.status_code == 200 and made.json()["seq_num"] == 9
        assert c.get(f"/accounts/{s.public_key}").json()["signers"] == [{"key": a.public_key, "weight": 1}]
        assert c.get(f"/accounts/{a.public_key}").status_code == 404
        assert c.post("/accounts", json={"id": "nonsense"}).status_code == 400
        assert (
            c.post("/faults", json={"method": "getHealth", "kind": "http500", "times": 2}).status_code == 200
        )
        assert len(c.get("/faults").json()["faults"]["getHealth"]) == 2
        assert c.delete("/faults").json() == {"faults": {}}
        assert c.post("/faults", json={"method": "getHealth", "kind": "bogus"}).status_code == 400
        offset = c.post("/time", json={"offset": 120}).json()
        assert offset["offset"] == 120 and abs(offset["close_time"] - time.time() - 120) < 5
        assert c.post("/ledger", json={"close": 3}).json()["sequence"] == net.ledger.sequence
        envelope = signed(build(net.ledger, s, lambda t: t.append_bump_sequence_op(0)), a).to_xdr()
        tx_hash = httpx.post(net.horizon_url + "/transactions", data={"tx": envelope}).json()["hash"]
        subs = c.get("/submissions", params={"hash": tx_hash}).json()["submissions"]
        assert [(x["via"], x["status"]) for x in subs] == [("horizon", "applied")]
        assert c.get(f"/transactions/{tx_hash}").json()["code"] == "txSUCCESS"
        stats = c.get("/stats").json()
        assert stats["requests"] == {"POST /transactions": 1} and stats["transactions"] == 1
        cleared = c.post("/reset", json={"accounts": True}).json()
    assert (cleared["requests"], cleared["submissions"], cleared["transactions"]) == ({}, 0, 0)
    assert net.ledger.accounts() == []


def test_cli_runs_in_the_foreground_until_sigterm(tmp_path: Path, keys: list[Keypair]) -> None:
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps([{"id": keys[0].public_key, "seq": 42}]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakenet", "--port", "0", "--accounts", str(accounts)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        # A fresh interpreter importing stellar_sdk: seconds on a loaded machine, so a wide bound.
        readable, _, _ = select.select([proc.stdout], [], [], 120)
        assert readable, "the fake did not announce itself"
        ready = json.loads(proc.stdout.readline())
        assert set(ready) == {"rpc", "horizon", "control"}
        assert Server(ready["horizon"]).load_account(keys[0].public_key).sequence == 42
        assert SorobanServer(ready["rpc"]).get_health().status == "healthy"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_only_loopback_addresses() -> None:
    with pytest.raises(ValueError):
        FakeStellarNetwork(host="0.0.0.0")


def test_serves_a_stream_of_requests_on_one_connection(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s = keys[0]
    net.ledger.create_account(s.public_key)
    start = net.ledger.get_account(s.public_key).seq_num  # type: ignore[union-attr]
    envelopes = [
        signed(build(net.ledger, s, lambda t: t.append_bump_sequence_op(0), seq=start + i), s).to_xdr()
        for i in range(100)
    ]
    with httpx.Client() as client:
        for envelope in envelopes:
            answer = client.post(net.rpc_url, json=_rpc("sendTransaction", transaction=envelope)).json()
            assert answer["result"]["status"] == "PENDING"
        for _ in range(200):
            assert client.post(net.rpc_url, json=_rpc("getHealth")).status_code == 200
    # Its speed is measured where it matters, by the benchmarks that drive it (bench/).
    assert net.ledger.get_account(s.public_key).seq_num == start + 100  # type: ignore[union-attr]
