"""The SQLite writer thread: many threads' writes land, batched into group commits; one failing
operation in a batch fails alone; an acknowledged write survives SIGKILL of a real server."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from app.jobs.model import Job
from app.store.sqlite import SqliteStore
from app.store.sqlite_writer import SqliteWriter, WriterClosed, writes
from app.txs.model import StoredSignature, TxRecord, TxStatus


def _record(i: int, now: float = 1_000.0) -> TxRecord:
    return TxRecord(hash=f"{i:064x}", network="testnet", xdr="AAAA", status=TxStatus.PENDING,
                    created_at=now + i, updated_at=now + i, sources=[f"G{i:055d}"])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "w.db"))
    s.ensure_schema()
    yield s
    s.close()


class Gate:
    """An operation that holds the writer until released, so that what is submitted meanwhile
    queues up and goes into the next transaction together."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, conn: sqlite3.Connection) -> None:
        self.entered.set()
        assert self.release.wait(60), "the test never released the writer"


def test_many_threads_writing_at_once_all_land(store: SqliteStore) -> None:
    shared = _record(10_000)
    assert store.insert(shared)
    signers = [f"G{n:055d}" for n in range(64)]
    limit = 40

    def work(t: int) -> list[StoredSignature]:
        for i in range(t * 20, t * 20 + 20):
            assert store.insert(_record(i))
        sigs = [StoredSignature(signers[t * 4 + k], bytes([t, k]) * 32, 2_000.0) for k in range(4)]
        return store.add_signatures(shared.hash, sigs, limit)

    with ThreadPoolExecutor(16) as pool:
        added = [s for batch in pool.map(work, range(16)) for s in batch]

    assert store.count_by_status() == {"pending": 16 * 20 + 1}
    for i in range(16 * 20):
        assert store.get(_record(i).hash) is not None
    final = store.get(shared.hash)
    assert final is not None
    # The per-record limit held under concurrency, and each thread was told exactly what landed.
    assert final.sig_count == len(final.signatures) == limit == len(added)
    assert {s.key for s in final.signatures} == {s.key for s in added}


def test_queued_writes_share_one_commit_and_a_failure_stays_its_own(store: SqliteStore) -> None:
    writer: SqliteWriter = store._writer
    gate = Gate()
    held = writer.submit(gate)
    assert gate.entered.wait(60)
    batches_before = writer.batches

    def failing_after_a_write(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO controls (name, value) VALUES ('half-done', '{}')")
        raise ValueError("refused by validation")

    def conflicting(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO controls (name, value) VALUES ('a', '{}')")  # 'a' exists by then

    futures: list[Future[Any]] = [
        writer.submit(lambda conn: conn.execute(
            "INSERT INTO controls (name, value) VALUES ('a', '{}')").rowcount),
        writer.submit(failing_after_a_write),
        writer.submit(conflicting),
        writer.submit(lambda conn: store.insert(_record(1))),  # a store method, nested
    ]
    caller = ThreadPoolExecutor(1)
    store_call = caller.submit(store.insert, _record(2))  # a caller blocked in run()
    deadline = time.monotonic() + 60
    while writer._queue.qsize() < 5:
        assert time.monotonic() < deadline, "the blocked caller's write never queued"
        time.sleep(0.01)
    gate.release.set()
    held.result(60)

    assert futures[0].result(60) == 1
    with pytest.raises(ValueError, match="refused by validation"):
        futures[1].result(60)
    with pytest.raises(sqlite3.IntegrityError):
        futures[2].result(60)
    assert futures[3].result(60) is True
    assert store_call.result(60) is True
    caller.shutdown()
    # The gate's transaction, then one for the five operations queued behind it.
    assert writer.batches - batches_before == 2
    # The failed operation's own write was rolled back.
    names = {r[0] for r in store._conn().execute("SELECT name FROM controls")}
    assert names == {"a"}
    assert store.get(_record(1).hash) is not None and store.get(_record(2).hash) is not None


class Tally:
    """A store in miniature, written the way every SQLite store writes (``writes``)."""

    def __init__(self, writer: SqliteWriter) -> None:
        self.writer = writer

    @writes
    def add(self, conn: sqlite3.Connection, name: str) -> str:
        conn.execute("INSERT INTO controls (name, value) VALUES (?, '{}')", (name,))
        assert conn is self.writer._conn  # the write connection, handed in
        return threading.current_thread().name

    @writes
    def add_both_then_fail(self, conn: sqlite3.Connection, first: str, second: str) -> None:
        self.add(first)  # another write method: same transaction, its own savepoint
        self.add(second)
        raise ValueError("refused after both")


def test_a_write_method_runs_on_the_writer_with_its_connection(store: SqliteStore) -> None:
    tally = Tally(store.writer)
    assert tally.add("x") == "refractor-sqlite-writer"
    with pytest.raises(ValueError, match="refused after both"):
        tally.add_both_then_fail("y", "z")
    names = {r[0] for r in store._conn().execute("SELECT name FROM controls")}
    assert names == {"x"}  # the nested writes went with the method that failed


def test_a_store_method_failing_midway_writes_nothing(store: SqliteStore) -> None:
    record = _record(5)
    record.signatures = [StoredSignature("GA", b"x" * 64, 1.0), StoredSignature("GA", b"y" * 64, 1.0)]
    with pytest.raises(sqlite3.IntegrityError):
        store.insert(record)  # the second signature breaks UNIQUE (tx_hash, key)
    assert store.get(record.hash) is None
    assert store.insert(_record(6))  # the writer goes on


def test_writes_after_close_are_refused_and_queued_ones_are_committed(tmp_path: Path) -> None:
    path = str(tmp_path / "c.db")
    store = SqliteStore(path)
    store.ensure_schema()
    gate = Gate()
    held = store._writer.submit(gate)
    assert gate.entered.wait(60)
    queued = store._writer.submit(lambda conn: store.insert(_record(7)))
    closer = threading.Thread(target=store.close)
    closer.start()
    gate.release.set()
    closer.join(60)
    held.result(60)
    assert queued.result(60) is True
    with pytest.raises(WriterClosed):
        store.insert(_record(8))
    reopened = SqliteStore(path)
    try:
        assert reopened.get(_record(7).hash) is not None
    finally:
        reopened.close()


def test_coroutines_await_the_commit_without_blocking_the_loop(store: SqliteStore) -> None:
    gate = Gate()
    held = store._writer.submit(gate)
    assert gate.entered.wait(60)

    async def main() -> bool:
        task = asyncio.ensure_future(store._writer.run_async(lambda conn: store.insert(_record(9))))
        ticks = 0
        while ticks < 3:  # the loop runs on while the writer is held
            await asyncio.sleep(0)
            ticks += 1
        assert not task.done()
        gate.release.set()
        return await asyncio.wait_for(task, 60)

    assert asyncio.run(main()) is True
    held.result(60)


def test_writers_of_two_stores_on_one_file_take_turns(tmp_path: Path) -> None:
    """As two processes would: each store's writer holds the shared flock around its transaction
    (separate open files conflict like separate processes), and every write lands."""
    path = str(tmp_path / "shared.db")
    stores = [SqliteStore(path), SqliteStore(path)]
    stores[0].ensure_schema()
    try:
        def work(n: int) -> None:
            for i in range(n * 25, n * 25 + 25):
                assert stores[n % 2].insert(_record(i))

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(work, range(8)))
        assert Path(path + "-writer-lock").exists()
        assert all(s.count_by_status() == {"pending": 200} for s in stores)
    finally:
        for s in stores:
            s.close()


def test_the_writer_holds_the_shared_lock_for_its_transaction_only(store: SqliteStore) -> None:
    import fcntl
    import os

    gate = Gate()
    held = store._writer.submit(gate)
    assert gate.entered.wait(60)
    fd = os.open(store.path + "-writer-lock", os.O_RDONLY)
    try:
        with pytest.raises(BlockingIOError):  # another process's writer would wait here
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        gate.release.set()
        held.result(60)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once the transaction committed
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def test_a_claim_that_finds_nothing_due_queues_no_write(store: SqliteStore) -> None:
    now = time.time()

    def job(n: int, kind: str = "k", due: float = now - 1, group: str | None = None) -> Job:
        return Job(id=f"{kind}:{n}", kind=kind, due_at=due, created_at=now, updated_at=now,
                   group=group)

    store.jobs.add(job(1, due=now + 3600))  # not due yet
    store.jobs.add(job(2, kind="other"))  # due, but of another kind
    store.jobs.add(job(3, group="busy.example"))  # due, in a group at its cap
    writer: SqliteWriter = store._writer
    before = writer.operations
    for _ in range(5):
        assert store.jobs.claim("k", "w", now, 30, 10, skip_groups=["busy.example"]) == []
    assert store.jobs.claim("k", "w", now, 30, 0) == []
    assert writer.operations == before  # no transaction queued behind the writer's other work
    [claimed] = store.jobs.claim("k", "w", now, 30, 10)
    assert claimed.id == "k:3" and writer.operations == before + 1  # one, when there is work
