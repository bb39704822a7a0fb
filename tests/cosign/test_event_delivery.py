"""Subscription events end to end: every event type delivered once to a subscribed receiver, with
a valid Standard Webhooks signature, in order per transaction; the subscriber's delivery log; a
test event; the hourly limit."""

from __future__ import annotations

import time

import httpx
from stellar_sdk import Keypair

from app.webhooks.signing import verify
from tests.api.conftest import Accounts
from tests.api.test_compat import seq_of
from tests.builders import payment_tx, signed
from tests.cosign.conftest import App, token_for
from tests.receivers import Answer, Hit, Receiver

ALL = ["tx.awaiting_signature", "tx.signature_added", "tx.ready", "tx.submitted", "tx.failed",
       "tx.expired"]


def of(got: list[Hit], tx_hash: str) -> list[str]:
    """The types of the events about ``tx_hash`` among the requests ``got``, in order."""
    return [b["type"] for b in map(Hit.json, got) if b["data"].get("hash") == tx_hash]


def test_every_event_once_signed_and_in_order(client: httpx.Client, app: App, accounts: Accounts,
                                              receiver: Receiver) -> None:
    a, b = Keypair.random(), Keypair.random()
    source = accounts.make(master=0, low=2, med=2, high=2, signers={a.public_key: 1,
                                                                     b.public_key: 1})
    me = token_for(client, a)
    sub = client.post("/subscriptions", headers=me, json={"url": receiver.url, "events": ALL})
    assert sub.status_code == 201, sub.text
    secret = sub.json()["secret"]

    # 1: collected, fully signed, submitted.
    dest = accounts.make()
    te = payment_tx(source, seq=seq_of(app.net, source), destination=dest.public_key)
    h1 = client.post("/tx", json={"network": "testnet", "xdr": te.to_xdr(),
                                  "submit": True}).json()["hash"]
    receiver.wait_for(lambda got: of(got, h1) == ["tx.awaiting_signature"])
    client.post("/tx", json={"network": "testnet", "xdr": signed(te, b)})
    # b signed: a is told, and that its own signature is still wanted.
    receiver.wait_for(lambda got: len(of(got, h1)) >= 3)
    client.post("/tx", json={"network": "testnet", "xdr": signed(te, a)})
    got = receiver.wait_for(lambda got: "tx.submitted" in of(got, h1))
    assert of(got, h1) == ["tx.awaiting_signature", "tx.signature_added", "tx.awaiting_signature",
                           "tx.signature_added", "tx.ready", "tx.submitted"]

    # 2: fails on the network (the destination does not exist).
    te2 = payment_tx(source, seq=seq_of(app.net, source))
    h2 = client.post("/tx", json={"network": "testnet", "xdr": signed(te2, a, b),
                                  "submit": True}).json()["hash"]
    # 3: expires while waiting (another account of the same signers).
    other = accounts.make(master=0, low=2, med=2, high=2, signers={a.public_key: 1,
                                                                    b.public_key: 1})
    te3 = payment_tx(other, seq=seq_of(app.net, other))
    h3 = client.post("/tx", json={"network": "testnet", "xdr": te3.to_xdr(),
                                  "expires": int(time.time()) + 6}).json()["hash"]
    got = receiver.wait_for(lambda got: "tx.failed" in of(got, h2) and "tx.expired" in of(got, h3))
    assert of(got, h2) == ["tx.signature_added", "tx.ready", "tx.failed"]  # created signed
    assert of(got, h3) == ["tx.awaiting_signature", "tx.expired"]

    # Once each, signed with the subscription's secret, in the payload shape documented.
    ids = [hit.headers["webhook-id"] for hit in receiver.accepted()]
    assert len(ids) == len(set(ids))
    for hit in receiver.accepted():
        assert verify(secret, hit.headers, hit.body)
    first = receiver.accepted()[0].json()
    assert first["data"]["account"] == a.public_key
    assert first["data"]["progress"]["signatureNeeded"] is True
    assert first["timestamp"].endswith("Z")

    # The delivery log, visible to the subscriber only.
    # (The receiver has a body before the sender hears its answer: wait for the log to say so.)
    deadline = time.monotonic() + 120
    while True:
        log = client.get(f"/subscriptions/{sub.json()['id']}/deliveries", headers=me)
        assert log.status_code == 200
        items = log.json()["items"]
        if all(i["status"] == "delivered" for i in items) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert len(items) == len(ids)
    assert all(i["status"] == "delivered" and i["attempts"] == 1 for i in items), items
    other = token_for(client, Keypair.random())
    assert client.get(f"/subscriptions/{sub.json()['id']}/deliveries",
                      headers=other).status_code == 404


def test_send_a_test_event(client: httpx.Client, receiver: Receiver) -> None:
    me = token_for(client, Keypair.random())
    sub = client.post("/subscriptions", headers=me,
                      json={"url": receiver.url, "events": ["tx.ready"]}).json()
    sent = client.post(f"/subscriptions/{sub['id']}/test", headers=me)
    assert sent.status_code == 202, sent.text
    [hit] = receiver.wait_for(lambda got: len(got) == 1)
    assert hit.json()["type"] == "test"
    assert verify(sub["secret"], hit.headers, hit.body)
    assert hit.headers["webhook-id"] == sent.json()["id"]
    deadline = time.monotonic() + 120
    while True:
        items = client.get(f"/subscriptions/{sub['id']}/deliveries", headers=me).json()["items"]
        if items and items[0]["status"] == "delivered":
            break
        assert time.monotonic() < deadline, items
        time.sleep(0.2)
    assert items[0]["type"] == "test" and items[0]["log"][0]["status"] == 200


def test_a_failed_delivery_is_retried_and_holds_later_events_back(
        client: httpx.Client, app: App, accounts: Accounts, receiver: Receiver) -> None:
    receiver.answer(Answer(500))  # the receiver is down for its first request
    a, b = Keypair.random(), Keypair.random()
    source = accounts.make(master=0, low=2, med=2, high=2, signers={a.public_key: 1,
                                                                     b.public_key: 1})
    me = token_for(client, a)
    sub = client.post("/subscriptions", headers=me,
                      json={"url": receiver.url, "events": ALL}).json()
    te = payment_tx(source, seq=seq_of(app.net, source))
    h = client.post("/tx", json={"network": "testnet", "xdr": te.to_xdr()}).json()["hash"]
    client.post("/tx", json={"network": "testnet", "xdr": signed(te, b)})
    got = receiver.wait_for(lambda got: len(of(got, h)) >= 3)
    # The first event failed once, was sent again with the same webhook-id, and the events
    # queued meanwhile followed it, in order.
    assert of(got, h) == ["tx.awaiting_signature", "tx.signature_added",
                          "tx.awaiting_signature"]
    refused = receiver.hits[0]
    assert refused.status == 500 and refused.headers["webhook-id"] == got[0].headers["webhook-id"]
    deadline = time.monotonic() + 120
    while True:
        items = client.get(f"/subscriptions/{sub['id']}/deliveries", headers=me).json()["items"]
        if all(i["status"] == "delivered" for i in items) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    first = items[-1]
    assert first["type"] == "tx.awaiting_signature" and first["attempts"] == 2
    assert [entry["status"] for entry in first["log"]] == [500, 200]
