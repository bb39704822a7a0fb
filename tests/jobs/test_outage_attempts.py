"""A job cut off by a real store outage (SQLite's write lock held by another connection; the
MongoDB-wire server stopped and started again) runs again once the store is back, and the attempt
the outage cut off and the run that takes it over count as one."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.errors import StoreUnavailable
from app.jobs.model import Done, Job, JobState, Outcome
from app.jobs.runner import JobContext, Runner
from app.store.base import TxStore
from app.store.mongo import MongoStore
from app.store.sqlite import SqliteStore
from app.txs.model import TxRecord, TxStatus
from tests.jobs.test_runner import kind, make_runner, wait_until
from tests.mongo_server import mongo_server
from tests.ports import free_port


class Outage:
    """A store, and a way to take it away and bring it back as the deployment would."""

    def __init__(self, store: TxStore, begin: Callable[[], None], end: Callable[[], None]) -> None:
        self.store, self.begin, self.end = store, begin, end


@contextlib.contextmanager
def sqlite_outage(tmp_path: Path) -> Iterator[Outage]:
    path = str(tmp_path / "jobs.db")
    store = SqliteStore(path, busy_timeout=0.2)
    store.ensure_schema()
    holder = sqlite3.connect(path, isolation_level=None)

    def begin() -> None:  # another process (a backup, a maintenance command) holds the lock
        holder.execute("BEGIN IMMEDIATE")

    def end() -> None:
        holder.execute("ROLLBACK")

    try:
        yield Outage(store, begin, end)
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        store.close()


@contextlib.contextmanager
def mongodb_outage(tmp_path: Path) -> Iterator[Outage]:
    workdir, port = tmp_path / "mongo", free_port()
    with contextlib.ExitStack() as server:
        server.enter_context(mongo_server(workdir, own=True, port=port))
        store = MongoStore(f"mongodb://127.0.0.1:{port}/t_{uuid.uuid4().hex[:12]}"
                           "?serverSelectionTimeoutMS=500")
        store.ensure_schema()
        again = contextlib.ExitStack()

        def begin() -> None:
            server.close()

        def end() -> None:  # back on the same port, with its data
            again.enter_context(mongo_server(workdir, own=True, port=port))

        with again:
            try:
                yield Outage(store, begin, end)
            finally:
                store.close()


@pytest.fixture(params=["sqlite", "mongodb"])
def outage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outage]:
    if request.param == "mongodb":
        request.applymarker(pytest.mark.mongo)
        with mongodb_outage(tmp_path) as made:
            yield made
    else:
        with sqlite_outage(tmp_path) as made:
            yield made


def test_a_job_cut_off_by_a_store_outage_counts_one_attempt(outage: Outage,
                                                             runners: list[Runner]) -> None:
    store = outage.store
    now = time.time()
    store.insert(TxRecord(hash="ab" * 32, network="testnet", xdr="AAAA", status=TxStatus.PENDING,
                          created_at=now, updated_at=now, sources=["G" + "A" * 55]))
    store.jobs.add(Job(id="k:1", kind="k", due_at=now - 1, created_at=now, updated_at=now,
                       ref="ab" * 32))
    started, outage_on, cut = threading.Event(), threading.Event(), threading.Event()
    attempts_seen: list[int] = []

    def handler(job: Job, ctx: JobContext) -> Outcome:
        attempts_seen.append(ctx.job.attempts)
        if len(attempts_seen) == 1:
            started.set()
            assert outage_on.wait(60), "the test never began the outage"
            try:  # the write a handler makes to its record, with the store gone
                store.update_fields(job.ref or "", {"error": "written during the outage"})
            except StoreUnavailable:
                cut.set()
                raise
        return Done()

    # A short lease: the job is taken over soon after the outage ends.
    runner = make_runner(store, [kind("k", handler)], lease=2.0)
    runners.append(runner)
    runner.start()
    assert started.wait(60)
    outage.begin()
    outage_on.set()
    assert cut.wait(60), "the handler's write did not meet the outage"
    outage.end()

    def succeeded() -> bool:
        try:
            found = store.jobs.get("k:1")
        except StoreUnavailable:  # the server is still starting
            return False
        return found is not None and found.state is JobState.SUCCEEDED

    wait_until(succeeded, timeout=120)
    final = store.jobs.get("k:1")
    assert final is not None
    # The run after the outage continued the attempt the outage cut off.
    assert attempts_seen == [1, 1]
    assert final.attempts == 1
