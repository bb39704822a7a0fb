"""How many times one API request goes to the database, on each engine, through the real app.

On MongoDB every command is a network round trip: pymongo's command monitoring sees each one the
app sends (the worker is off, so only the request's own commands are counted). On SQLite the
statements that read or write tables are counted from the connections' statement trace
(transaction control and pragmas left out). A change that adds a read after a write, or splits a
write in two, fails here with the list of what was sent.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pymongo import monitoring
from stellar_sdk import Keypair

from tests import loopback
from tests.app_server import app_settings, running_app
from tests.builders import payment_tx, signed
from tests.fakenet import FakeStellarNetwork


class _Commands(monitoring.CommandListener):
    """MongoDB commands sent while ``active`` (pymongo listeners cannot be unregistered: one for
    the module, quiet between requests)."""

    def __init__(self) -> None:
        self.active = False
        self.lock = threading.Lock()
        self.seen: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.active:
            target = event.command.get(event.command_name)
            with self.lock:
                self.seen.append(f"{event.command_name} {target}")

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_COMMANDS = _Commands()
monitoring.register(_COMMANDS)

_STATEMENT = re.compile(r"\s*(?:(UPDATE)\s+(\w+)|(SELECT|INSERT|DELETE)\b.*?\b(?:FROM|INTO)\s+(\w+))",
                        re.I | re.S)


@dataclass
class _Statements:
    active: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: list[str] = field(default_factory=list)

    def record(self, statement: str) -> None:
        if not self.active:
            return
        found = _STATEMENT.match(statement)
        if found is None:
            return  # BEGIN, COMMIT, PRAGMA: no table touched
        verb, table = (found.group(1), found.group(2)) if found.group(1) else found.group(3, 4)
        with self.lock:
            self.seen.append(f"{verb.lower()} {table}")


@pytest.fixture
def net() -> Iterator[FakeStellarNetwork]:
    with FakeStellarNetwork() as network:
        yield network


@pytest.fixture
def counted(engine: str, net: FakeStellarNetwork, tmp_path: Path, request: pytest.FixtureRequest,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Callable[[Callable[[], Any]],
                                                                             Counter[str]]]]:
    """The app's base URL and ``count(action)``: what ``action`` sent to the database."""
    statements = _Statements()
    if engine == "mongodb":
        db = request.getfixturevalue("mongo_url").rstrip("/") + "/rt_" + uuid.uuid4().hex[:10]
        recorder: Any = _COMMANDS
    else:
        db = str(tmp_path / "refractor.db")
        real_connect = sqlite3.connect

        def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            conn = real_connect(*args, **kwargs)
            conn.set_trace_callback(statements.record)
            return conn

        monkeypatch.setattr(sqlite3, "connect", traced)
        recorder = statements
    settings = app_settings(net.rpc_url, net.horizon_url, db, storage=engine, runWorker=False,
                            accountCacheTtl=3600)

    def count(action: Callable[[], Any]) -> Counter[str]:
        with recorder.lock:
            recorder.seen.clear()
        recorder.active = True
        try:
            action()
        finally:
            recorder.active = False
        with recorder.lock:
            return Counter(recorder.seen)

    with running_app(settings) as base:
        yield base, count


# What each request sends, by engine. The subscriptions lookup is the co-signer events' (a
# record's accounts' webhook subscriptions), made when a request changes a record.
EXPECTED: dict[str, dict[str, dict[str, int]]] = {
    "mongodb": {
        "new": {"find txs": 1, "insert txs": 1, "find subscriptions": 1},
        "add": {"find txs": 1, "update txs": 1, "find subscriptions": 1},
        "add, becomes ready": {"find txs": 1, "update txs": 1, "insert jobs": 1,
                               "find subscriptions": 1},
        "same signature again": {"find txs": 1},
        "get": {"find txs": 1},
    },
    "sqlite": {
        # The record, its parties (one source and three potential signers) and its signature.
        "new": {"select txs": 1, "insert txs": 1, "insert tx_parties": 4, "insert signatures": 1,
                "select subscriptions": 1},
        "add": {"select txs": 1, "select signatures": 1, "update txs": 1,
                "insert signatures": 1, "select subscriptions": 1},
        "add, becomes ready": {"select txs": 1, "select signatures": 1, "update txs": 1,
                               "insert signatures": 1, "insert jobs": 1,
                               "select subscriptions": 1},
        "same signature again": {"select txs": 1, "select signatures": 1},
        "get": {"select txs": 1, "select signatures": 1},
    },
}


def test_database_round_trips_per_request(engine: str, net: FakeStellarNetwork,
                                          counted: tuple[str, Callable[..., Counter[str]]]) -> None:
    base, count = counted
    cosigners = [Keypair.random() for _ in range(3)]
    source = Keypair.random()
    net.ledger.create_account(source.public_key, master_weight=0, low=3, med=3, high=3,
                              signers=[(k.public_key, 1) for k in cosigners])
    dest = Keypair.random().public_key
    net.ledger.create_account(dest)
    seq = net.ledger.get_account(source.public_key).seq_num  # type: ignore[union-attr]
    with loopback.client(base_url=base, timeout=30) as client:

        def post(te: Any, signer: Keypair) -> Callable[[], None]:
            def send() -> None:
                answer = client.post("/tx", json={"network": "testnet", "xdr": signed(te, signer)})
                assert answer.status_code == 200, answer.text
            return send

        def get(te: Any) -> Callable[[], None]:
            def send() -> None:
                answer = client.get(f"/tx/{te.hash_hex()}")
                assert answer.status_code == 200, answer.text
            return send

        # A first transaction warms the account cache and the connections: only the database's
        # share of the second is counted.
        for n in range(2):
            te = payment_tx(source, seq=seq + 1 + n, destination=dest)
            seen = {
                "new": count(post(te, cosigners[0])),
                "add": count(post(te, cosigners[1])),
                "same signature again": count(post(te, cosigners[1])),
                "add, becomes ready": count(post(te, cosigners[2])),
                "get": count(get(te)),
            }
            final = client.get(f"/tx/{te.hash_hex()}").json()
            assert final["status"] == "ready" and len(final["signatures"]) == 3
    for request, expected in EXPECTED[engine].items():
        assert dict(seen[request]) == expected, f"{engine}, {request}: sent {dict(seen[request])}"
