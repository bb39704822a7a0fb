"""The worker loop itself, with a real store: crashed jobs come back promptly, not after the lease."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from app.store.sqlite import SqliteStore
from app.txs.model import TxRecord, TxStatus
from app.worker.limits import AdaptiveLimit
from app.worker.metrics import Metrics
from app.worker.runner import Worker
from tests.store.test_contract import record


class FlakyProcessor:
    """Raises on the first attempt of every record, then finishes it."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.calls: list[int] = []

    def process(self, rec: TxRecord, owner: str) -> None:
        self.calls.append(rec.attempts)
        if rec.attempts == 1:
            raise RuntimeError("boom")
        self.store.release(rec.hash, owner, {"status": TxStatus.PROCESSED})


class NoCallbacks:
    def enqueue(self, rec: Any) -> None: ...

    def deliver(self, d: Any, owner: str) -> None: ...


def test_crashed_job_is_retried_without_waiting_for_its_lease(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "w.db"))
    store.ensure_schema()
    store.insert(record())
    store.save_evaluation("a" * 64, 0, {}, True, time.time() - 1)
    processor = FlakyProcessor(store)
    worker = Worker(store, processor, NoCallbacks(), Metrics(),  # type: ignore[arg-type]
                    AdaptiveLimit(4, 1, 4, False), ticker_seconds=0.05, lease_seconds=600,
                    batch=10, retry_delay_ms=50)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while (got := store.get("a" * 64)) is None or got.status is not TxStatus.PROCESSED:
            assert time.monotonic() < deadline, "the crashed job waited for its 600 s lease"
            time.sleep(0.02)
    finally:
        worker.stop(2)
        store.close()
    assert processor.calls == [1, 2]
    assert worker.metrics.counters["job_errors"] == 1
