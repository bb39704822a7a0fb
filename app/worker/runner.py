"""The worker loop of one process: claim due work from the store, run it on a thread pool.

It claims only as many jobs as it has free slots, so nothing waits in memory where a crash could
lose it. It wakes at once when this process makes a record ready, and otherwise every
``tickerTimeout`` ms to find work made ready elsewhere, leases that expired (a process died) and
retries that fell due. Pause and concurrency live in the store, so they apply to every process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from app.store.base import TxStore
from app.txs.model import Delivery, TxRecord, TxStatus
from app.webhooks.delivery import backoff_delay
from app.worker.callbacks import CallbackQueue
from app.worker.limits import AdaptiveLimit
from app.worker.metrics import Metrics
from app.worker.processor import TxProcessor
from app.worker.sweeps import expire

log = logging.getLogger("refractor.worker")
QUEUE_CONTROL = "queue"
CLEANUP_EVERY = 3600.0


class Worker:
    def __init__(self, store: TxStore, processor: TxProcessor, callbacks: CallbackQueue,
                 metrics: Metrics, limit: AdaptiveLimit, *, ticker_seconds: float,
                 lease_seconds: float, batch: int, run_cleanup: Callable[[float], Any] | None = None,
                 retry_delay_ms: int = 2000, give_up_after: int = 20,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.processor = processor
        self.callbacks = callbacks
        self.metrics = metrics
        self.limit = limit
        self.ticker = ticker_seconds
        self.lease = lease_seconds
        self.batch = batch
        self.run_cleanup = run_cleanup
        self.retry_delay_ms = retry_delay_ms
        self.give_up_after = give_up_after
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pool = ThreadPoolExecutor(max_workers=limit.maximum, thread_name_prefix="refractor-job")
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.paused = False
        self.last_loop = 0.0
        self.last_error: str | None = None
        self._last_cleanup = clock()
        self._control_version: Any = None
        self._thread = threading.Thread(target=self._run, name="refractor-worker", daemon=True)

    # -- lifecycle --

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; wait up to ``timeout`` for running jobs. Unfinished ones keep their
        leases, which expire so that another process finishes them."""
        self.stopping.set()
        self.wake.set()
        self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while self.limit.in_use and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def notify(self, record: TxRecord) -> None:
        if record.status is TxStatus.READY:
            self.wake.set()

    def health(self) -> str | None:
        """None when healthy, else why not."""
        if not self._thread.is_alive():
            return "worker thread is not running"
        age = time.monotonic() - self.last_loop
        if age > max(30.0, self.ticker * 5):
            return f"worker loop stalled for {age:.0f}s"
        return None

    # -- loop --

    def _run(self) -> None:
        while not self.stopping.is_set():
            self.last_loop = time.monotonic()
            try:
                busy = self._tick()
            except Exception as exc:  # a store outage must not kill the loop
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("worker tick failed")
                busy = False
            if not busy:
                self.wake.wait(self.ticker)
            self.wake.clear()

    def _tick(self) -> bool:
        now = self.clock()
        self._read_controls()
        if self.paused:
            return False
        for tx_hash in expire(self.store, now):
            record = self.store.get(tx_hash, by_inner=False)
            if record is not None and record.ready_at is not None:
                self.callbacks.enqueue(record)
        if self.run_cleanup is not None and now - self._last_cleanup > CLEANUP_EVERY:
            self._last_cleanup = now
            self.run_cleanup(now)
        claimed = 0
        free = min(self.limit.free(), self.batch)
        if free:
            for record in self.store.claim_due(self.owner, now, self.lease, free):
                claimed += self._start(self._process, record)
        free = min(self.limit.free(), self.batch)
        if free:
            for delivery in self.store.claim_deliveries(self.owner, now, self.lease, free):
                claimed += self._start(self._deliver, delivery)
        return claimed > 0 and self.limit.free() > 0

    def _read_controls(self) -> None:
        control = self.store.get_control(QUEUE_CONTROL) or {}
        self.paused = bool(control.get("paused", False))
        version = control.get("version")
        if version != self._control_version:
            # An operator's concurrency applies once per change; adaptation continues from it.
            self._control_version = version
            wanted = control.get("concurrency")
            if isinstance(wanted, int):
                self.limit.set(wanted)

    def _start(self, job: Callable[[Any], None], item: TxRecord | Delivery) -> int:
        if not self.limit.try_acquire():
            return 0  # the lease expires and the item is claimed again
        self.pool.submit(self._guarded, job, item)
        return 1

    def _guarded(self, job: Callable[[Any], None], item: TxRecord | Delivery) -> None:
        started = time.monotonic()
        try:
            job(item)
            self.limit.success()
        except Exception as exc:
            self.limit.overload()
            self.metrics.count("job_errors")
            self.last_error = f"{type(exc).__name__}: {exc}"
            _report(exc, item)
            self._reschedule(item, exc)
        finally:
            self.metrics.observe_job(time.monotonic() - started)
            self.limit.release()
            self.wake.set()

    def _reschedule(self, item: TxRecord | Delivery, exc: Exception) -> None:
        """Hand a crashed job back at once (with back-off) instead of waiting for its lease."""
        now = self.clock()
        delay = backoff_delay(max(1, item.attempts), self.retry_delay_ms)
        try:
            if isinstance(item, Delivery):
                self.store.finish_attempt(item.id, self.owner,
                                          {"attempt": item.attempts + 1, "at": now,
                                           "status": None, "error": f"internal error: {exc}"},
                                          {"attempts": item.attempts + 1, "due_at": now + delay})
            elif item.attempts > self.give_up_after:
                self.store.release(item.hash, self.owner, {
                    "status": TxStatus.FAILED, "updated_at": now,
                    "error": f"Internal error after {item.attempts} attempts: "
                             f"{type(exc).__name__}"})
            else:
                self.store.release(item.hash, self.owner, {"lease_until": now + delay})
        except Exception:  # the store itself is failing: the lease expiry is the fallback
            log.exception("could not reschedule a failed job")

    def _process(self, record: TxRecord) -> None:
        self.processor.process(record, self.owner)

    def _deliver(self, delivery: Delivery) -> None:
        self.callbacks.deliver(delivery, self.owner)


def _report(exc: Exception, item: TxRecord | Delivery) -> None:
    kind = "deliver_callback" if isinstance(item, Delivery) else "process_tx"
    key = item.id if isinstance(item, Delivery) else item.hash
    try:
        import sentry_sdk

        # Captured before logging: Sentry drops the same exception seen twice, and this copy
        # carries the job's tags.
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("job", kind)
            scope.set_tag("key", key)
            sentry_sdk.capture_exception(exc)
    except ImportError:  # sentry is a dependency; this only guards stripped installs
        pass
    log.error("job failed", exc_info=exc, extra={"fields": {"job": kind, "key": key}})
