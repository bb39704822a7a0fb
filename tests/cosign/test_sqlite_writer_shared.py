"""On SQLite the co-signer store writes through the records store's writer thread: its writes join
the same group commits instead of competing for the database's write lock, and under concurrent
load from both stores nothing fails, waits for a lock or goes missing."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from app.config import parse_settings
from app.store.cosigners import EventDelivery, Subscription, open_cosigner_store
from app.store.cosigners_sqlite import SqliteCosignerStore
from app.store.sqlite import SqliteStore
from app.txs.model import TxRecord, TxStatus

FULL = 2  # PRAGMA synchronous answers with a number


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqliteStore, SqliteCosignerStore]]:
    settings = parse_settings({"db": str(tmp_path / "shared.db")}, {})
    records = SqliteStore(settings.db.reveal())
    records.ensure_schema()
    cosigners = open_cosigner_store(settings, records)
    assert isinstance(cosigners, SqliteCosignerStore)
    cosigners.ensure_schema()
    yield records, cosigners
    cosigners.close()
    records.close()


def _record(i: int) -> TxRecord:
    return TxRecord(hash=f"{i:064x}", network="testnet", xdr="AAAA", status=TxStatus.PENDING,
                    created_at=1000.0 + i, updated_at=1000.0 + i, sources=[f"G{i:055d}"])


def _event(i: int, subscription: str = "s1") -> EventDelivery:
    return EventDelivery(f"e{i}", subscription, "GA", f"tx{i % 3}", "tx.ready", {"n": i},
                         float(i), "pending", 0, None, [])


def _wait(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def test_cosigner_writes_join_the_records_group_commit(
        stores: tuple[SqliteStore, SqliteCosignerStore]) -> None:
    records, cosigners = stores
    writer = records.writer
    entered, release = threading.Event(), threading.Event()

    def gate(conn: sqlite3.Connection) -> None:
        entered.set()
        assert release.wait(60), "the test never released the writer"

    held = writer.submit(gate)
    assert entered.wait(60)
    batches = writer.batches
    writes: list[Callable[[], Any]] = [
        lambda: records.insert(_record(1)),
        lambda: cosigners.add_subscription(Subscription("s1", "GA", "https://x.org/h",
                                                        ["tx.ready"], "whsec_AAAA", 1.0), 5),
        lambda: cosigners.add_event(_event(1)),
        lambda: cosigners.take_quota("GA", 7, 10),
        lambda: cosigners.use_challenge("c1", 10.0**10, 1.0),
    ]
    with ThreadPoolExecutor(len(writes)) as pool:
        futures: list[Future[Any]] = [pool.submit(w) for w in writes]
        # Every one of them waits in the writer's queue (none on a lock of its own)...
        _wait(lambda: writer._queue.qsize() == len(writes))
        assert not any(f.done() for f in futures)
        release.set()
        held.result(60)
        results = [f.result(60) for f in futures]
    assert results == [True, True, None, True, True]
    # ...and the gate's transaction is followed by ONE commit holding all five.
    assert writer.batches - batches == 2
    assert [e.id for e in cosigners.pending_events("s1", "tx1")] == ["e1"]


def test_both_stores_under_concurrent_load_lose_nothing(
        stores: tuple[SqliteStore, SqliteCosignerStore], tmp_path: Path) -> None:
    records, cosigners = stores
    # A second co-signer store with a writer of its own (as a maintenance tool has) on the same
    # file: it takes turns with the shared writer through the writer lock file.
    other = SqliteCosignerStore(records.path)
    threads, each = 8, 20

    def work(t: int) -> int:
        quota = 0
        for i in range(t * each, (t + 1) * each):
            assert records.insert(_record(i))
            cosigners.add_event(_event(i))
            cosigners.finish_event(f"e{i}", "delivered", {"attempt": 1}, None)
            quota += cosigners.take_quota("GA", 1, 10**6)
            assert other.use_challenge(f"c{i}", 10.0**10, 1.0)
        return quota

    try:
        with ThreadPoolExecutor(threads) as pool:
            counted = sum(pool.map(work, range(threads)))
        assert not other.use_challenge("c0", 10.0**10, 1.0)
    finally:
        other.close()
    total = threads * each
    assert counted == total
    assert records.count_by_status() == {"pending": total}
    logged = cosigners.events("s1", total + 10)
    assert len(logged) == total and all(e.status == "delivered" and e.attempts == 1
                                        for e in logged)
    assert not cosigners.take_quota("GA", 1, total)  # exactly ``total`` counted in the window


def test_the_shared_writer_keeps_full_durability(
        stores: tuple[SqliteStore, SqliteCosignerStore], tmp_path: Path) -> None:
    records, cosigners = stores
    pragma = "PRAGMA synchronous"
    assert records.writer.run(lambda conn: conn.execute(pragma).fetchone()[0]) == FULL
    assert cosigners.writer.run(lambda conn: conn.execute(pragma).fetchone()[0]) == FULL
    alone = SqliteCosignerStore(str(tmp_path / "alone.db"))
    try:
        assert alone.writer.run(lambda conn: conn.execute(pragma).fetchone()[0]) == FULL
    finally:
        alone.close()
