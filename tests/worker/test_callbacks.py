"""Callbacks: signed (Standard Webhooks), after the outcome, retried, never following redirects,
never reaching private addresses unless allowed, every attempt visible through the API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.webhooks.signing import verify
from tests import loopback
from tests.app_server import app_settings, running_app
from tests.conftest import ENGINES
from tests.fakenet import FakeStellarNetwork
from tests.receivers import Answer, Receiver
from tests.worker.conftest import (
    SECRET,
    db_for,
    funded_payment,
    wait_for,
    wait_until,
    worker_settings,
)


def deliveries(client: httpx.Client, tx_hash: str) -> list[dict[str, object]]:
    answer = client.get(f"/tx/{tx_hash}/deliveries", headers={"Authorization": "Bearer " + "a" * 32})
    return list(answer.json()["items"])


def test_callback_after_submission_signed_with_transaction(worker_app: httpx.Client,
                                                           net: FakeStellarNetwork,
                                                           receiver: Receiver) -> None:
    p = funded_payment(net)
    worker_app.post("/tx", json={"network": "testnet", "xdr": p.signed(), "submit": True,
                                 "callbackUrl": receiver.url})
    wait_until(lambda: len(receiver.hits) == 1)
    headers, body = receiver.hits[0].headers, receiver.hits[0].body
    assert verify(SECRET, headers, body)
    payload = json.loads(body)
    assert payload["hash"] == p.hash and payload["status"] == "processed"
    assert payload["submitted"] and payload["result"]["successful"]
    assert payload["xdr"] in [s.envelope_xdr for s in net.ledger.submissions if s.hash == p.hash]
    # The receiver has the request before the worker has its answer and records the outcome.
    wait_until(lambda: [d["status"] for d in deliveries(worker_app, p.hash)] == ["delivered"])
    [d] = deliveries(worker_app, p.hash)
    assert d["id"] == headers["webhook-id"]


def test_callback_without_submit_is_sent_when_ready(worker_app: httpx.Client,
                                                    net: FakeStellarNetwork,
                                                    receiver: Receiver) -> None:
    p = funded_payment(net)
    worker_app.post("/tx", json={"network": "testnet", "xdr": p.signed(),
                                 "callbackUrl": receiver.url})
    wait_until(lambda: len(receiver.hits) == 1)
    payload = receiver.hits[0].json()
    assert payload["status"] == "processed" and payload["submitted"] is None
    assert net.ledger.get_transaction(p.hash) is None


def test_server_error_then_success_keeps_the_webhook_id(worker_app: httpx.Client,
                                                        net: FakeStellarNetwork,
                                                        receiver: Receiver) -> None:
    receiver.answer(Answer(500), Answer(503))
    p = funded_payment(net)
    worker_app.post("/tx", json={"network": "testnet", "xdr": p.signed(), "submit": True,
                                 "callbackUrl": receiver.url})
    wait_until(lambda: len(receiver.hits) == 3, timeout=60)
    ids = {hit.headers["webhook-id"] for hit in receiver.hits}
    assert len(ids) == 1
    wait_until(lambda: deliveries(worker_app, p.hash)[0]["status"] == "delivered")
    [d] = deliveries(worker_app, p.hash)
    assert [a["status"] for a in d["log"]] == [500, 503, 200]  # type: ignore[index]


@pytest.fixture(params=ENGINES)
def impatient_app(request: pytest.FixtureRequest, net: FakeStellarNetwork,
                  tmp_path: Path) -> Iterator[httpx.Client]:
    """The worker app with a one-second callback deadline, for receivers slower than that."""
    settings = worker_settings(net, request.param, db_for(request.param, request, tmp_path),
                               callback_timeout=1)
    with running_app(settings) as base, loopback.client(base_url=base, timeout=30) as client:
        yield client


def test_failing_receiver_never_blocks_submission(impatient_app: httpx.Client,
                                                  net: FakeStellarNetwork,
                                                  receiver: Receiver) -> None:
    # Far slower than the one-second deadline (teardown releases them): a late-scheduled
    # thread on a loaded machine must not see an answer that came half a second late.
    receiver.answer(*[Answer(delay=60)] * 4)
    p = funded_payment(net)
    impatient_app.post("/tx", json={"network": "testnet", "xdr": p.signed(), "submit": True,
                                 "callbackUrl": receiver.url})
    done = wait_for(impatient_app, p.hash, {"processed", "failed"}, timeout=60)
    assert done["status"] == "processed"
    # (the callback is queued just after the record's status is written)
    wait_until(lambda: [d["status"] for d in deliveries(impatient_app, p.hash)] == ["failed"],
               timeout=30)
    [d] = deliveries(impatient_app, p.hash)
    assert d["attempts"] == 4 and "timed out" in str(d["lastError"]).lower()
    assert impatient_app.get(f"/tx/{p.hash}").json()["status"] == "processed"


def test_redirects_are_not_followed(worker_app: httpx.Client, net: FakeStellarNetwork,
                                    receiver_factory: Callable[[], Receiver]) -> None:
    receiver, target = receiver_factory(), receiver_factory()
    receiver.answer(Answer(302, {"Location": target.address("/elsewhere")}))
    p = funded_payment(net)
    worker_app.post("/tx", json={"network": "testnet", "xdr": p.signed(),
                                 "callbackUrl": receiver.url})
    wait_until(lambda: bool(deliveries(worker_app, p.hash))
               and deliveries(worker_app, p.hash)[0]["status"] == "failed")
    [d] = deliveries(worker_app, p.hash)
    assert d["attempts"] == 1 and "redirect" in str(d["lastError"]).lower()
    assert target.hits == []


@pytest.mark.parametrize("engine_db", ["sqlite"])
def test_private_address_refused_at_connect_time(engine_db: str, tmp_path: Path,
                                                 net: FakeStellarNetwork,
                                                 receiver: Receiver) -> None:
    """A record accepted by a permissive instance is delivered by a strict one: the guard on the
    address actually connected to refuses it, and the receiver never sees a request."""
    db = str(tmp_path / "shared.db")
    permissive = app_settings(net.rpc_url, net.horizon_url, db, runWorker=False,
                              callbacks={"allowPrivateNetworks": True})
    strict = app_settings(net.rpc_url, net.horizon_url, db, adminToken="a" * 32,
                          callbacks={"allowPrivateNetworks": False, "timeout": 1})
    p = funded_payment(net)
    with running_app(permissive) as a, loopback.client(base_url=a) as client:
        assert client.post("/tx", json={"network": "testnet", "xdr": p.signed(),
                                        "callbackUrl": receiver.url}).status_code == 200
    with running_app(strict) as b, loopback.client(base_url=b) as client:
        wait_until(lambda: bool(deliveries(client, p.hash))
                   and deliveries(client, p.hash)[0]["status"] == "failed")
        [d] = deliveries(client, p.hash)
        assert "not allowed" in str(d["lastError"])
        rejected = client.post("/tx", json={"network": "testnet", "xdr": p.signed(),
                                            "callbackUrl": receiver.url})
        assert rejected.status_code == 200  # existing record: parameters are not re-validated
    assert receiver.hits == []
