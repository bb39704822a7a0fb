"""The real app over real HTTP, on each storage engine, against the fake Stellar network."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair

from tests import loopback
from tests.app_server import app_settings, running_app
from tests.conftest import ENGINES
from tests.fakenet import FakeStellarNetwork


@pytest.fixture(scope="module")
def net() -> Iterator[FakeStellarNetwork]:
    with FakeStellarNetwork() as network:
        yield network


@pytest.fixture(scope="module", params=ENGINES)
def base_url(request: pytest.FixtureRequest, net: FakeStellarNetwork,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "mongodb":
        url = request.getfixturevalue("mongo_url")
        db = url.rstrip("/") + "/api_" + uuid.uuid4().hex[:10]
    else:
        db = str(Path(tmp_path_factory.mktemp("api")) / "refractor.db")
    settings = app_settings(net.rpc_url, net.horizon_url, db, storage=request.param)
    with running_app(settings) as base:
        yield base


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with loopback.client(base_url=base_url, timeout=30) as c:
        yield c


class Accounts:
    """Creates accounts on the fake ledger for one test."""

    def __init__(self, net: FakeStellarNetwork) -> None:
        self.net = net

    def make(self, *, master: int = 1, low: int = 0, med: int = 0, high: int = 0,
             signers: dict[str, int] | None = None) -> Keypair:
        kp = Keypair.random()
        self.net.ledger.create_account(kp.public_key, master_weight=master, low=low, med=med,
                                       high=high, signers=list((signers or {}).items()))
        return kp


@pytest.fixture
def accounts(net: FakeStellarNetwork) -> Accounts:
    return Accounts(net)
