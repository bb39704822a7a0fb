"""What an anonymous client can and cannot see: callback URLs and delivery logs are the operator's;
everything a co-signer needs stays public by hash."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import loopback
from tests.api.conftest import Accounts
from tests.api.test_compat import post, seq_of
from tests.api.test_errors import error
from tests.app_server import app_settings, running_app
from tests.builders import payment_tx
from tests.conftest import ENGINES
from tests.fakenet import FakeStellarNetwork

TOKEN = "privacy-admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
SECRET_URL = "https://receiver.example/hook?token=s3cr3t-" + uuid.uuid4().hex


@pytest.fixture(scope="module", params=ENGINES)
def admin_base(request: pytest.FixtureRequest, net: FakeStellarNetwork,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "mongodb":
        db = request.getfixturevalue("mongo_url").rstrip("/") + "/priv_" + uuid.uuid4().hex[:10]
    else:
        db = str(Path(tmp_path_factory.mktemp("privacy")) / "refractor.db")
    settings = app_settings(net.rpc_url, net.horizon_url, db, storage=request.param,
                            adminToken=TOKEN, runWorker=False)
    with running_app(settings) as base:
        yield base


@pytest.fixture
def anon(admin_base: str) -> Iterator[httpx.Client]:
    with loopback.client(base_url=admin_base, timeout=30) as c:
        yield c


def test_callback_url_is_in_no_public_answer(anon: httpx.Client, net: FakeStellarNetwork,
                                             accounts: Accounts) -> None:
    s = accounts.make()
    created = post(anon, payment_tx(s, seq=seq_of(net, s)).to_xdr(), callbackUrl=SECRET_URL)
    assert created.status_code == 200
    body = created.json()
    assert body["callback"] is True and "callbackUrl" not in body
    tx_hash = body["hash"]
    answers = [
        created,
        anon.get(f"/tx/{tx_hash}"),
        anon.get("/tx", params={"account": s.public_key}),
        anon.get("/tx", params={"signer": s.public_key}),
        anon.get("/tx", params={"awaiting": s.public_key}),
        post(anon, payment_tx(s, seq=seq_of(net, s)).to_xdr()),  # another record, same source
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert "s3cr3t" not in answer.text and "receiver.example" not in answer.text
    assert [i["hash"] for i in answers[2].json()["items"]].count(tx_hash) == 1
    with anon.stream("GET", f"/tx/{tx_hash}/events") as events:
        first = ""
        for line in events.iter_lines():
            first += line + "\n"
            if line.startswith("data:"):
                break
    assert '"callback":true' in first.replace(" ", "") and "s3cr3t" not in first


def test_a_record_without_callback_says_so(anon: httpx.Client, net: FakeStellarNetwork,
                                           accounts: Accounts) -> None:
    s = accounts.make()
    body = post(anon, payment_tx(s, seq=seq_of(net, s)).to_xdr()).json()
    assert body["callback"] is False


def test_unfiltered_listing_needs_a_filter_or_the_admin_token(anon: httpx.Client, net: FakeStellarNetwork,
                                                              accounts: Accounts) -> None:
    s = accounts.make()
    post(anon, payment_tx(s, seq=seq_of(net, s)).to_xdr(), callbackUrl=SECRET_URL)
    for params in ({}, {"limit": "3"}, {"status": "pending"}, {"network": "testnet"}):
        answer = error(anon.get("/tx", params=params), 400)
        assert answer["field"] == "account" and '"signer"' in str(answer["error"])
    error(anon.get("/tx", headers={"Authorization": "Bearer wrong-token-000000000"}), 401)
    operator = anon.get("/tx", params={"limit": "100"}, headers=ADMIN)
    assert operator.status_code == 200 and operator.json()["items"]
    assert "s3cr3t" not in operator.text  # listings show the public record, even to the operator


def test_delivery_log_is_admin_only(anon: httpx.Client, net: FakeStellarNetwork,
                                    accounts: Accounts) -> None:
    s = accounts.make()
    tx_hash = post(anon, payment_tx(s, seq=seq_of(net, s)).to_xdr(),
                   callbackUrl=SECRET_URL).json()["hash"]
    error(anon.get(f"/tx/{tx_hash}/deliveries"), 401)
    error(anon.get(f"/tx/{tx_hash}/deliveries", headers={"Authorization": "Bearer nope"}), 401)
    operator = anon.get(f"/tx/{tx_hash}/deliveries", headers=ADMIN)
    assert operator.status_code == 200 and operator.json() == {"items": []}  # not final yet


def test_without_an_admin_token_the_private_views_do_not_exist(client: httpx.Client) -> None:
    error(client.get("/tx/" + "ab" * 32 + "/deliveries"), 404)
    # A bearer token that is neither the admin's nor a sign-in token is refused, not ignored.
    error(client.get("/tx", headers={"Authorization": "Bearer anything-at-all-1234"}), 401)
    error(client.get("/tx"), 400)
