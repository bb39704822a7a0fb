"""The real app with web authentication on, over real HTTP, on each storage engine."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair, TransactionEnvelope

from app.settings import Settings
from tests import loopback
from tests.api.conftest import Accounts
from tests.app_server import app_settings, running_app
from tests.builders import PASSPHRASE, signed
from tests.conftest import ENGINES
from tests.fakenet import FakeStellarNetwork

SERVER_KEY = Keypair.random()
HOME_DOMAIN = "refractor.test"
ADMIN_TOKEN = "admin-token-for-the-cosigner-tests"


@dataclass
class App:
    url: str
    settings: Settings
    net: FakeStellarNetwork


def auth_settings(net: FakeStellarNetwork, db: str, storage: str) -> Settings:
    return app_settings(net.rpc_url, net.horizon_url, db, storage=storage,
                        auth={"signingKey": SERVER_KEY.secret, "homeDomain": HOME_DOMAIN,
                              "challengeTtl": 300},
                        subscriptions={"maxPerAccount": 3}, adminToken=ADMIN_TOKEN)


@pytest.fixture(scope="module")
def net() -> Iterator[FakeStellarNetwork]:
    with FakeStellarNetwork() as network:
        yield network


@pytest.fixture(scope="module", params=ENGINES)
def app(request: pytest.FixtureRequest, net: FakeStellarNetwork,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    if request.param == "mongodb":
        url = request.getfixturevalue("mongo_url")
        db = url.rstrip("/") + "/cosign_" + uuid.uuid4().hex[:10]
    else:
        db = str(Path(tmp_path_factory.mktemp("cosign")) / "refractor.db")
    settings = auth_settings(net, db, request.param)
    with running_app(settings) as base:
        yield App(base, settings, net)


@pytest.fixture
def client(app: App) -> Iterator[httpx.Client]:
    with loopback.client(base_url=app.url, timeout=30) as c:
        yield c


@pytest.fixture
def accounts(net: FakeStellarNetwork) -> Accounts:
    return Accounts(net)


def sign_in(client: httpx.Client, *signers: Keypair, account: str | None = None) -> httpx.Response:
    """GET /auth, sign the challenge with ``signers``, POST it back."""
    account = account or signers[0].public_key
    got = client.get("/auth", params={"account": account, "network": "testnet"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["network_passphrase"] == PASSPHRASE
    te = TransactionEnvelope.from_xdr(body["transaction"], PASSPHRASE)
    return client.post("/auth", json={"transaction": signed(te, *signers)})


def token_for(client: httpx.Client, kp: Keypair) -> dict[str, str]:
    """Authorization headers of a signed-in account (not on the ledger: its master key signs)."""
    got = sign_in(client, kp)
    assert got.status_code == 200, got.text
    return {"Authorization": "Bearer " + got.json()["token"]}
