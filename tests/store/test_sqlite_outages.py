"""SQLite's transient failures (the write lock held past the busy timeout, a full disk) are
StoreUnavailable, a 503 with Retry-After, and lose nothing acknowledged; a bad statement or an
unhandled constraint stays what it is (a 500)."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stellar_sdk import Keypair

from app.errors import StoreUnavailable
from app.observability import JsonFormatter
from app.store.sqlite import SqliteStore
from app.store.sqlite_outages import is_outage
from app.txs.model import TxRecord, TxStatus
from tests import loopback
from tests.api.test_extensions import OpenApi
from tests.app_server import app_settings, running_app
from tests.builders import payment_tx, signed
from tests.fakenet import FakeStellarNetwork

UNAVAILABLE = {"error": "Storage is unavailable, retry later", "status": 503}


def _record(i: int) -> TxRecord:
    return TxRecord(hash=f"{i:064x}", network="testnet", xdr="AAAA" * (1 + i % 3000),
                    status=TxStatus.PENDING, created_at=1000.0 + i, updated_at=1000.0 + i,
                    sources=[f"G{i:055d}"])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "o.db"), busy_timeout=0.2)
    s.ensure_schema()
    yield s
    s.close()


def _error(conn: sqlite3.Connection, sql: str) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as raised:
        conn.execute(sql)
    return raised.value


def test_which_sqlite_errors_are_outages(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "e.db", isolation_level=None)
    conn.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO t VALUES (1)")
    assert not is_outage(_error(conn, "SELECT * FROM missing"))
    assert not is_outage(_error(conn, "INSERT INTO t VALUES (1)"))  # a constraint: a bug
    assert not is_outage(sqlite3.OperationalError("database is locked"))  # no SQLite code
    holder = sqlite3.connect(tmp_path / "e.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    busy = sqlite3.connect(tmp_path / "e.db", isolation_level=None, timeout=0.05)
    assert is_outage(_error(busy, "BEGIN IMMEDIATE"))
    holder.execute("ROLLBACK")
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(sqlite3.Error) as cannot_open:  # a path under a regular file
        sqlite3.connect(tmp_path / "file" / "e.db").execute("SELECT 1")
    assert is_outage(cannot_open.value)


def test_a_full_database_is_unavailable_and_keeps_what_was_committed(store: SqliteStore) -> None:
    assert store.insert(_record(1))
    pages = store.writer.run(lambda c: c.execute("PRAGMA page_count").fetchone()[0])
    # The file may not grow: as a full disk does, SQLite answers SQLITE_FULL.
    store.writer.run(lambda c: c.execute(f"PRAGMA max_page_count={pages}"))
    last = 1
    with pytest.raises(StoreUnavailable) as raised:
        for last in range(2, 200):  # until a write needs a new page
            store.insert(_record(last))
    assert raised.value.cause == "SQLite SQLITE_FULL" and raised.value.retry_after == 5
    assert isinstance(raised.value.__cause__, sqlite3.Error)
    assert store.get(_record(1).hash) is not None  # acknowledged before: still there
    assert store.get(_record(last).hash) is None  # refused: nothing of it written
    store.writer.run(lambda c: c.execute("PRAGMA max_page_count=1073741823"))
    assert store.insert(_record(last))  # the disk has room again: the same write succeeds


def test_a_constraint_nobody_handles_stays_an_error(store: SqliteStore) -> None:
    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO txs (hash) VALUES (NULL)")

    with pytest.raises(sqlite3.IntegrityError):
        store.writer.run(broken)


def test_a_held_write_lock_is_a_503_and_loses_nothing(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    db = str(tmp_path / "locked.db")
    with FakeStellarNetwork() as net:
        source, cosigner = Keypair.random(), Keypair.random()
        net.ledger.create_account(source.public_key, master_weight=1, low=0, med=2, high=2,
                                  signers=[(cosigner.public_key, 1)])
        first, second = payment_tx(source, seq=10), payment_tx(source, seq=11)
        settings = app_settings(net.rpc_url, net.horizon_url, db, sqliteBusyTimeout=0.2)
        with caplog.at_level(logging.INFO), running_app(settings) as base, \
                loopback.client(base_url=base, timeout=60) as client:
            openapi = OpenApi(client.get("/openapi.json").json())

            acknowledged = client.post("/tx", json={"network": "testnet",
                                                    "xdr": signed(first, source)})
            assert acknowledged.status_code == 200, acknowledged.text
            tx_hash = acknowledged.json()["hash"]

            # Another process (a backup, a maintenance command) holds SQLite's write lock.
            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("BEGIN IMMEDIATE")
            try:
                refused = [client.post("/tx", json={"network": "testnet",
                                                    "xdr": signed(second, source)}),
                           client.post("/tx", json={"network": "testnet",
                                                    "xdr": signed(first, cosigner)})]
                for response in refused:
                    assert (response.status_code, response.json()) == (503, UNAVAILABLE)
                    assert response.headers["retry-after"] == "5"
                    assert db not in response.text and "INSERT" not in response.text
                    openapi.check("/tx", "post", response)
                # Reads do not wait for the writer (WAL): the acknowledged record is served.
                during = client.get(f"/tx/{tx_hash}")
                assert during.status_code == 200
            finally:
                holder.execute("ROLLBACK")
                holder.close()

            after = client.get(f"/tx/{tx_hash}").json()
            assert after == during.json()  # as acknowledged, nothing of the refused writes
            assert client.get(f"/tx/{second.hash().hex()}").status_code == 404
            retried = client.post("/tx", json={"network": "testnet", "xdr": signed(second, source)})
            assert retried.status_code == 200, retried.text
            cosigned = client.post("/tx", json={"network": "testnet",
                                                "xdr": signed(first, cosigner)})
            assert cosigned.status_code == 200, cosigned.text
            assert len(cosigned.json()["signatures"]) == 2
    warnings = [r for r in caplog.records if r.getMessage() == "storage unavailable"]
    assert len(warnings) == 2 and all(r.levelno == logging.WARNING for r in warnings)
    logged = "\n".join(JsonFormatter().format(r) for r in warnings)
    assert "SQLite SQLITE_BUSY" in logged and db not in logged
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_database_the_writer_cannot_open_refuses_writes_until_it_can(tmp_path: Path) -> None:
    """The writer's first open fails (the database's directory replaced by a file: works as root,
    where permissions would not bite): writes are refused at once as an outage, and served again
    once the directory is back, without a restart."""
    home = tmp_path / "data"
    store = SqliteStore(str(home / "o.db"))
    try:
        store.ensure_schema()  # on this thread's connection: the writer has not opened yet
        away = tmp_path / "data-away"
        home.rename(away)
        home.write_bytes(b"")  # sqlite3 cannot open "data/o.db" under a regular file
        for i in range(3):
            with pytest.raises(StoreUnavailable) as raised:
                store.insert(_record(i))
            assert raised.value.cause == "SQLite SQLITE_CANTOPEN"
            assert raised.value.retry_after == 5
        home.unlink()
        away.rename(home)
        deadline = time.monotonic() + 60  # the writer opens again at its next try (back-off)
        while True:
            try:
                assert store.insert(_record(100))
                break
            except StoreUnavailable:
                assert time.monotonic() < deadline, "the writer never opened the database again"
                time.sleep(0.05)
        assert store.insert(_record(101))
        assert store.get(_record(100).hash) is not None
        assert [store.get(_record(i).hash) for i in range(3)] == [None, None, None]
    finally:
        store.close()
