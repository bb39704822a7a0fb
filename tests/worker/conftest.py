"""Worker tests: the real app (worker threads included) over HTTP, a fake network, real receivers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from stellar_sdk import Keypair, TransactionEnvelope

from app.settings import Settings
from tests import loopback
from tests.app_server import app_settings, running_app
from tests.builders import payment_tx, signed
from tests.conftest import ENGINES
from tests.fakenet import FakeStellarNetwork
from tests.processes import AppProcess

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def net() -> Iterator[FakeStellarNetwork]:
    with FakeStellarNetwork() as network:
        yield network


def db_for(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if engine == "mongodb":
        return str(request.getfixturevalue("mongo_url")).rstrip("/") + "/w_" + uuid.uuid4().hex[:10]
    return str(tmp_path / "refractor.db")


def worker_settings(net: FakeStellarNetwork, engine: str, db: str,
                    callback_timeout: float = 5) -> Settings:
    # The callback deadline is generous: on a loaded machine a loopback receiver in this same
    # process can take over a second to answer, and a timed-out attempt would change the log.
    return app_settings(net.rpc_url, net.horizon_url, db, storage=engine, retryDelay=50,
                        horizonRetryAttempts=0, networkTimeout=2, leaseSeconds=20,
                        adminToken="a" * 32,
                        callbacks={"allowPrivateNetworks": True, "timeout": callback_timeout,
                                   "secret": SECRET, "attempts": 4})


@pytest.fixture(params=ENGINES)
def worker_app(request: pytest.FixtureRequest, net: FakeStellarNetwork,
               tmp_path: Path) -> Iterator[httpx.Client]:
    settings = worker_settings(net, request.param, db_for(request.param, request, tmp_path))
    with running_app(settings) as base, loopback.client(base_url=base, timeout=30) as client:
        yield client


@dataclass
class Payment:
    source: Keypair
    envelope: TransactionEnvelope

    @property
    def hash(self) -> str:
        return self.envelope.hash_hex()

    def signed(self) -> str:
        return signed(self.envelope, self.source)


def funded_payment(net: FakeStellarNetwork, **tx: Any) -> Payment:
    source, dest = Keypair.random(), Keypair.random()
    net.ledger.create_account(source.public_key)
    net.ledger.create_account(dest.public_key)
    seq = net.ledger.get_account(source.public_key).seq_num  # type: ignore[union-attr]
    return Payment(source, payment_tx(source, seq=seq, destination=dest.public_key, **tx))


def wait_for(client: httpx.Client, tx_hash: str, statuses: set[str],
             timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/tx/{tx_hash}").json()
        if body["status"] in statuses:
            return body
        assert time.monotonic() < deadline, f"still {body['status']}: {body.get('error')}"
        time.sleep(0.05)


def wait_until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


# -- several real processes on one database --

def config(net: FakeStellarNetwork, storage: str, db: str, **extra: Any) -> dict[str, Any]:
    return {"storage": storage, "db": db, "adminToken": "m" * 32, "rateLimit": False,
            "logLevel": "WARNING", "tickerTimeout": 200, "leaseSeconds": 3, "retryDelay": 100,
            "networks": {"testnet": {"rpc": net.rpc_url}},
            "callbacks": {"allowPrivateNetworks": True, "timeout": 5}, **extra}


@pytest.fixture(params=["sqlite", "mongodb"])
def cluster_config(request: pytest.FixtureRequest, net: FakeStellarNetwork,
                   tmp_path: Path) -> dict[str, Any]:
    return config(net, request.param, db_for(request.param, request, tmp_path))


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[AppProcess]]:
    started: list[AppProcess] = []
    yield started
    for p in started:
        p.stop()
