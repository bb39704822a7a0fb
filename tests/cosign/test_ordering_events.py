"""Records ended by per-source ordering raise the same subscription events as every other end,
and are counted by reason; events never make ``POST /tx`` fail.

A subscriber (a real loopback receiver) signed in as the source account gets ``tx.superseded``
(naming the winner) when a sibling with the same sequence lands, ``tx.stale`` when an outside
transaction consumes a pending record's sequence, and ``tx.expired`` when ``maxLedger`` passes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from stellar_sdk import Asset, Keypair, TextMemo, TransactionBuilder, TransactionEnvelope

from app.services import Services, build_services
from app.settings import Settings
from app.store.cosigners import CosignerStore
from tests.app_server import app_settings, running_app
from tests.conftest import ENGINES
from tests.cosign.conftest import ADMIN_TOKEN, HOME_DOMAIN, SERVER_KEY, token_for
from tests.cosign.test_event_delivery import ALL, of
from tests.fakenet import FakeStellarNetwork
from tests.fakenet.txkit import build, signed
from tests.receivers import Hit, Receiver

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Breakable:
    """The app's real co-signer store, made to fail every call while ``broken`` is set (the
    one fault these tests inject: an outage of the co-signer store)."""

    def __init__(self, inner: CosignerStore) -> None:
        self.inner = inner
        self.broken = False
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.broken and name != "close":
                self.refused += 1
                raise RuntimeError(f"co-signer store unavailable ({name})")
            return method(*args, **kwargs)

        return call


class App:
    def __init__(self, url: str, store: Breakable) -> None:
        self.url = url
        self.cosigners = store


def settings_for(net: FakeStellarNetwork, db: str, storage: str) -> Settings:
    return app_settings(net.rpc_url, None, db, storage=storage,
                        auth={"signingKey": SERVER_KEY.secret, "homeDomain": HOME_DOMAIN,
                              "challengeTtl": 300},
                        adminToken=ADMIN_TOKEN, sequenceReviewSeconds=1, ledgerCloseSeconds=0.5,
                        retryDelay=50, networkTimeout=5)


@pytest.fixture(scope="module", params=ENGINES)
def app(request: pytest.FixtureRequest, net: FakeStellarNetwork,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    if request.param == "mongodb":
        db = request.getfixturevalue("mongo_url").rstrip("/") + "/oe_" + uuid.uuid4().hex[:10]
    else:
        db = str(Path(tmp_path_factory.mktemp("oe")) / "refractor.db")
    holder: list[Breakable] = []

    def make_services(settings: Settings) -> Services:
        services = build_services(settings)
        breakable = Breakable(services.cosigners)
        services.cosigners = breakable  # type: ignore[assignment]
        services.subscriptions.store = breakable  # type: ignore[assignment]
        assert services.notifier is not None
        services.notifier.store = breakable  # type: ignore[assignment]
        holder.append(breakable)
        return services

    with running_app(settings_for(net, db, request.param), make_services) as base:
        yield App(base, holder[0])


@pytest.fixture
def client(app: App) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app.url, timeout=30) as c:
        yield c


def payment(net: FakeStellarNetwork, kp: Keypair, seq: int, memo: str = "",
            bounds: tuple[int, int] | None = None) -> TransactionEnvelope:
    """A payment from kp with sequence number seq + 1."""
    def ops(t: TransactionBuilder) -> None:
        t.append_payment_op(kp.public_key, Asset.native(), "1")
        if memo:
            t.add_memo(TextMemo(memo))
        if bounds is not None:
            t.set_ledger_bounds(*bounds)

    return build(net.ledger, kp, ops, seq=seq)


def subscribed(client: httpx.Client, net: FakeStellarNetwork,
               receiver: Receiver) -> tuple[Keypair, int]:
    """A funded source account, signed in and subscribed to every event."""
    kp = Keypair.random()
    seq = net.ledger.create_account(kp.public_key).seq_num
    sub = client.post("/subscriptions", headers=token_for(client, kp),
                      json={"url": receiver.url, "events": ALL + ["tx.stale", "tx.superseded"]})
    assert sub.status_code == 201, sub.text
    return kp, seq


def post(client: httpx.Client, xdr: str) -> dict[str, Any]:
    r = client.post("/tx", json={"network": "testnet", "xdr": xdr, "submit": True})
    assert r.status_code == 200, r.text
    return dict(r.json())


def failed_by_reason(client: httpx.Client) -> dict[str, int]:
    report = client.get("/monitoring/metrics", headers=ADMIN).json()
    return dict(report["finalizer"]["metrics"]["failedByReason"])


def test_the_superseded_sibling_raises_tx_superseded_naming_the_winner(
        client: httpx.Client, net: FakeStellarNetwork, receiver: Receiver) -> None:
    kp, seq = subscribed(client, net, receiver)
    before = failed_by_reason(client).get("superseded_by", 0)
    a = signed(payment(net, kp, seq, memo="a"), kp)
    b = signed(payment(net, kp, seq, memo="b"), kp)
    client.post("/monitoring/queue/pause", headers=ADMIN).raise_for_status()
    try:
        post(client, a.to_xdr())
        post(client, b.to_xdr())
    finally:
        client.post("/monitoring/queue/resume", headers=ADMIN).raise_for_status()
    ha, hb = a.hash_hex(), b.hash_hex()
    got = receiver.wait_for(lambda got: {"tx.submitted", "tx.superseded"}
                            <= set(of(got, ha) + of(got, hb)))
    winner, loser = (ha, hb) if "tx.submitted" in of(got, ha) else (hb, ha)
    assert of(got, winner) == ["tx.signature_added", "tx.ready", "tx.submitted"]
    # one ending each: no tx.failed beside tx.superseded
    assert of(got, loser) == ["tx.signature_added", "tx.ready", "tx.superseded"]
    (event,) = [b for b in map(Hit.json, got) if b["type"] == "tx.superseded"]
    assert event["data"]["supersededBy"] == winner
    assert event["data"]["reason"]["code"] == "superseded_by"
    assert event["data"]["status"] == "failed" and event["data"]["account"] == kp.public_key
    assert net.ledger.submissions_of(loser) == []
    assert failed_by_reason(client).get("superseded_by", 0) == before + 1


def test_a_pending_record_consumed_outside_raises_tx_stale(
        client: httpx.Client, net: FakeStellarNetwork, receiver: Receiver) -> None:
    kp, seq = subscribed(client, net, receiver)
    before = failed_by_reason(client).get("sequence_consumed", 0)
    mine = payment(net, kp, seq, memo="mine")
    assert post(client, mine.to_xdr())["status"] == "pending"  # unsigned
    outside = signed(payment(net, kp, seq, memo="outside"), kp)
    assert net.ledger.apply(outside.to_xdr()).successful
    got = receiver.wait_for(lambda got: "tx.stale" in of(got, mine.hash_hex()))
    assert of(got, mine.hash_hex()) == ["tx.awaiting_signature", "tx.stale"]
    (event,) = [b for b in map(Hit.json, got) if b["type"] == "tx.stale"]
    assert event["data"]["reason"]["code"] == "sequence_consumed"
    assert event["data"]["error"] and event["data"]["status"] == "failed"
    assert net.ledger.submissions_of(mine.hash_hex()) == []
    assert failed_by_reason(client).get("sequence_consumed", 0) == before + 1


def test_max_ledger_passed_raises_tx_expired(
        client: httpx.Client, net: FakeStellarNetwork, receiver: Receiver) -> None:
    kp, seq = subscribed(client, net, receiver)
    closing = payment(net, kp, seq, bounds=(0, net.ledger.sequence + 3))
    assert post(client, closing.to_xdr())["status"] == "pending"
    net.ledger.close_ledger(2)  # maxLedger is exclusive: the next ledger is no longer allowed
    got = receiver.wait_for(lambda got: "tx.expired" in of(got, closing.hash_hex()))
    assert of(got, closing.hash_hex()) == ["tx.awaiting_signature", "tx.expired"]
    (event,) = [b for b in map(Hit.json, got) if b["type"] == "tx.expired"]
    assert event["data"]["reason"]["code"] == "expired"


def test_a_failing_cosigner_store_never_fails_post_tx_and_the_events_follow(
        app: App, client: httpx.Client, net: FakeStellarNetwork, receiver: Receiver) -> None:
    kp, seq = subscribed(client, net, receiver)
    env = payment(net, kp, seq)
    app.cosigners.broken = True
    try:
        answer = post(client, env.to_xdr())  # the change's events are queued, not raised here
        assert answer["status"] == "pending"
        # The worker tries to raise them and fails while the outage lasts...
        deadline = time.monotonic() + 60
        while app.cosigners.refused == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert app.cosigners.refused > 0
    finally:
        app.cosigners.broken = False
    # ...and raises them once the store is back: nothing was lost.
    got = receiver.wait_for(lambda got: of(got, env.hash_hex()) == ["tx.awaiting_signature"])
    assert got[-1].json()["data"]["progress"]["signatureNeeded"] is True
