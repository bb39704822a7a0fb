"""The job runner of one process: claim due jobs per kind, run them on the kind's own pool, keep
their leases alive, write their outcomes back.

Invariant: one lease holder at a time, and only the holder writes. A claim takes the lease; a
heartbeat renews it every quarter of the lease while the handler runs; a handler checks
(``JobContext.hold``, which renews) before each write to the record it works on, and every write
to the job itself is conditional on the lease. A process that loses its lease (it stalled longer
than the lease, or the store was unreachable) stops writing; a crashed process's jobs are claimed
again once their leases end.

Each kind has its own pool and cap, so a slow kind (callbacks to hanging receivers) can never
take the threads of another (submissions). The runner claims only as many jobs as a kind has free
slots, so nothing waits in memory where a crash could lose it. It wakes at once when this process
makes a record ready or a job finishes, and otherwise every ``tickerTimeout`` to find work made
due elsewhere, leases that expired and retries that fell due.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from app.errors import StoreUnavailable
from app.jobs.claims import groups_at_cap
from app.jobs.limits import AdaptiveLimit
from app.jobs.model import Dead, Done, Job, JobState, Outcome, Retry, RunAt, WaitFor
from app.jobs.registry import JobKind, Registry
from app.store.base import ControlStore, JobStore
from app.worker.metrics import Metrics

log = logging.getLogger("refractor.jobs")
QUEUE_CONTROL = "queue"
# A kind whose per-group cap is reached in this process hands extra claims back this much later.
GROUP_BUSY_DELAY = 1.0


class LeaseLost(Exception):
    """Raised by a handler that found it no longer holds its job's lease: it must not write."""


@dataclass(frozen=True, slots=True)
class Periodic:
    """Housekeeping run from the runner's loop every ``every`` seconds (expiry, cleanup...)."""

    name: str
    every: float
    run: Callable[[float], object]
    at_start: bool = False  # also on the first pass, instead of ``every`` after start


@dataclass
class _Held:
    job: Job
    kind: JobKind
    lease_until: float
    lost: threading.Event = field(default_factory=threading.Event)


class JobContext:
    """What a handler may use while it runs one job."""

    def __init__(self, runner: Runner, held: _Held) -> None:
        self._runner = runner
        self._held = held
        self.job = held.job
        self.kind = held.kind
        self.owner = runner.owner

    def now(self) -> float:
        return self._runner.clock()

    @property
    def final_attempt(self) -> bool:
        """True when a retry now would exceed the kind's attempt budget."""
        return self.job.attempts >= self.kind.max_attempts

    def retry_at(self, retry_after: float | None = None) -> float:
        """When the next attempt would be, by the kind's backoff."""
        return self.now() + self.kind.backoff.delay(max(1, self.job.attempts), retry_after)

    def hold(self) -> bool:
        """Renew the lease now; False (and never again True) once it is lost."""
        return self._runner.renew(self._held)

    def require(self) -> None:
        """Before a write: raise LeaseLost unless the lease is still held (renewing it)."""
        if not self.hold():
            raise LeaseLost(self.job.id)

    def enqueue(self, job: Job, rearm: bool = False) -> bool:
        """Add another job (a callback after a submission); wakes this process's runner."""
        return self._runner.enqueue(job, rearm)

    def signal(self, event: str) -> int:
        """Wake the jobs waiting for ``event`` (``WaitFor``), in every process."""
        return self._runner.signal(event)


class Runner:
    def __init__(self, jobs: JobStore, controls: ControlStore, registry: Registry,
                 metrics: Metrics, *, ticker_seconds: float, lease_seconds: float, batch: int,
                 periodic: list[Periodic] | None = None, controlled_kind: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.jobs = jobs
        self.controls = controls
        self.registry = registry
        self.metrics = metrics
        self.ticker = ticker_seconds
        self.lease = lease_seconds
        self.batch = batch
        self.periodic = list(periodic or [])
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        # The operator's queue concurrency control applies to this kind (submissions).
        self.controlled = registry.get(controlled_kind) if controlled_kind else None
        self.pools = {kind.name: ThreadPoolExecutor(max_workers=kind.limit.maximum,
                                                    thread_name_prefix=f"refractor-{kind.name}")
                      for kind in registry}
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.paused = False
        self.last_loop = 0.0
        self.last_error: str | None = None
        self.outage: str | None = None  # why the store is unreachable, while it is
        self._held: dict[str, _Held] = {}
        self._groups: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._last_run = {p.name: clock() - (p.every if p.at_start else 0.0)
                          for p in self.periodic}
        self._control_version: object = None
        self._thread = threading.Thread(target=self._run, name="refractor-jobs", daemon=True)
        self._heart = threading.Thread(target=self._heartbeat, name="refractor-lease",
                                       daemon=True)
        self._heart_stop = threading.Event()

    @property
    def limit(self) -> AdaptiveLimit | None:
        """The submission pool's limit (what monitoring reports as the queue's concurrency)."""
        return self.controlled.limit if self.controlled else None

    # -- lifecycle --

    def start(self) -> None:
        self._thread.start()
        self._heart.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; wait up to ``timeout`` for running jobs (their leases are renewed
        meanwhile). Unfinished ones keep their leases, which expire so that another process
        finishes them."""
        self.stopping.set()
        self.wake.set()
        self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._heart_stop.set()
        self._heart.join(timeout)
        for pool in self.pools.values():
            pool.shutdown(wait=False, cancel_futures=True)

    def running(self) -> int:
        with self._lock:
            return len(self._held)

    def notify(self, record: object) -> None:
        """Something changed in this process (a record became ready): look for work now."""
        self.wake.set()

    def enqueue(self, job: Job, rearm: bool = False) -> bool:
        added = self.jobs.add(job, rearm)
        self.wake.set()
        return added

    def signal(self, event: str) -> int:
        woken = self.jobs.signal(event, self.clock())
        if woken:
            self.wake.set()
        return woken

    def health(self) -> str | None:
        """None when healthy, else why not."""
        if not self._thread.is_alive():
            return "worker thread is not running"
        if not self._heart.is_alive():
            return "lease heartbeat is not running"
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
                self._outage_over()
            except StoreUnavailable as exc:  # logged once per outage, not once per tick
                self._outage_begins(exc)
                busy = False
            except Exception as exc:  # nor must any other failure kill the loop
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
        housekept = False
        for task in self.periodic:
            if now - self._last_run[task.name] >= task.every:
                self._last_run[task.name] = now
                housekept = True
                try:
                    task.run(now)
                except StoreUnavailable:
                    raise
                except Exception as exc:
                    self.last_error = f"{task.name}: {type(exc).__name__}: {exc}"
                    log.exception("periodic task failed", extra={"fields": {"task": task.name}})
        if housekept:
            # Housekeeping can take seconds: a pause stored meanwhile holds this pass's claims
            # too (the operator was told "paused" before they were made).
            self._read_controls()
            if self.paused:
                return False
        busy = False
        for kind in self.registry:
            claimed = self._claim(kind, now)
            busy = busy or (claimed > 0 and kind.limit.free() > 0)
        return busy

    def _outage_begins(self, exc: StoreUnavailable) -> None:
        self.last_error = f"store unavailable: {exc.cause}"
        if self.outage is None:
            log.warning("store unavailable; the worker tries again every tick",
                        extra={"fields": {"cause": exc.cause}})
        self.outage = exc.cause

    def _outage_over(self) -> None:
        if self.outage is not None:
            self.outage = None
            log.info("store reachable again; the worker resumes")

    def _read_controls(self) -> None:
        control = self.controls.get(QUEUE_CONTROL) or {}
        self.paused = bool(control.get("paused", False))
        version = control.get("version")
        if version != self._control_version:
            # An operator's concurrency applies once per change; adaptation continues from it.
            self._control_version = version
            wanted = control.get("concurrency")
            if isinstance(wanted, int) and self.controlled is not None:
                self.controlled.limit.set(wanted)

    def _claim(self, kind: JobKind, now: float) -> int:
        free = min(kind.limit.free(), self.batch)
        if free <= 0:
            return 0
        with self._lock:
            running = {g: n for (k, g), n in self._groups.items() if k == kind.name}
        full = groups_at_cap(running, kind.group_cap)
        started = 0
        for job in self.jobs.claim(kind.name, self.owner, now, self._lease(kind), free, full,
                                   per_group=kind.group_cap):
            with self._lock:
                running_here = job.id in self._held
            if running_here:
                # Its lease ran out while this process still runs it (a stalled renewal): the
                # claim renewed the lease, and a second copy must not start beside the first.
                continue
            if not self._start(kind, job):
                # Raced past a cap since the claim: hand it back, not counted as an attempt.
                self.jobs.finish(job.id, self.owner, now, JobState.QUEUED,
                                 due_at=now + GROUP_BUSY_DELAY, error=job.last_error,
                                 uncount=True)
                continue
            started += 1
        return started

    def _lease(self, kind: JobKind) -> float:
        return kind.lease_seconds or self.lease

    def _start(self, kind: JobKind, job: Job) -> bool:
        with self._lock:
            key = (kind.name, job.group or "")
            if job.group and kind.group_cap is not None and self._groups[key] >= kind.group_cap:
                return False
            if not kind.limit.try_acquire():
                return False
            if job.group:
                self._groups[key] += 1
            held = _Held(job, kind, (job.lease_until or self.clock() + self._lease(kind)))
            self._held[job.id] = held
        try:
            self.pools[kind.name].submit(self._execute, held)
        except RuntimeError:  # the pool is shut down: we are stopping
            self._release(held)
            return False
        return True

    def _release(self, held: _Held) -> None:
        with self._lock:
            self._held.pop(held.job.id, None)
            if held.job.group:
                key = (held.kind.name, held.job.group)
                self._groups[key] -= 1
                if self._groups[key] <= 0:
                    del self._groups[key]
        held.kind.limit.release()
        self.wake.set()

    def _execute(self, held: _Held) -> None:
        job, kind = held.job, held.kind
        started = time.monotonic()
        ctx = JobContext(self, held)
        try:
            try:
                outcome: Outcome = kind.handler(job, ctx)
                kind.limit.success()
            except LeaseLost:
                log.warning("lease lost; the job is left to its new holder",
                            extra={"fields": {"job": job.id}})
                return
            except StoreUnavailable as exc:
                # Not the job's fault, and nothing can be written: its lease runs out and it is
                # claimed again once the store is back.
                self.last_error = f"store unavailable: {exc.cause}"
                log.warning("store unavailable while a job ran; it is left to its lease",
                            extra={"fields": {"job": job.id, "cause": exc.cause}})
                return
            except Exception as exc:
                kind.limit.overload()
                self.metrics.count("job_errors")
                self.last_error = f"{type(exc).__name__}: {exc}"
                _report(exc, job)
                outcome = Retry(f"internal error: {type(exc).__name__}")
            self._apply(held, ctx, outcome)
        except Exception:  # the store itself is failing: the lease expiry is the fallback
            log.exception("could not record a job's outcome", extra={"fields": {"job": job.id}})
        finally:
            self.metrics.observe_job(time.monotonic() - started)
            self._release(held)

    def _apply(self, held: _Held, ctx: JobContext, outcome: Outcome) -> None:
        job, kind = held.job, held.kind
        now = self.clock()
        if held.lost.is_set():
            return
        finished: bool
        if isinstance(outcome, Done):
            finished = self.jobs.finish(job.id, self.owner, now, JobState.SUCCEEDED,
                                        entry=outcome.entry)
        elif isinstance(outcome, Dead):
            finished = self.jobs.finish(job.id, self.owner, now, JobState.DEAD,
                                        error=outcome.error, entry=outcome.entry)
        elif isinstance(outcome, Retry):
            if ctx.final_attempt:
                if kind.on_dead is not None and ctx.hold():
                    kind.on_dead(job, outcome.error)
                finished = self.jobs.finish(job.id, self.owner, now, JobState.DEAD,
                                            error=outcome.error, entry=outcome.entry)
            else:
                due = outcome.at if outcome.at is not None else ctx.retry_at(outcome.retry_after)
                finished = self.jobs.finish(job.id, self.owner, now, JobState.RETRY_WAIT,
                                            due_at=due, error=outcome.error, entry=outcome.entry)
        elif isinstance(outcome, RunAt):
            finished = self.jobs.finish(job.id, self.owner, now, JobState.QUEUED,
                                        due_at=outcome.at, error=job.last_error,
                                        entry=outcome.entry, uncount=True)
        else:
            assert isinstance(outcome, WaitFor)
            finished = self.jobs.finish(job.id, self.owner, now, JobState.WAITING,
                                        due_at=outcome.until, event=outcome.event, uncount=True)
        if not finished:
            log.warning("lease lost before finishing", extra={"fields": {"job": job.id}})

    # -- leases --

    def renew(self, held: _Held) -> bool:
        if held.lost.is_set():
            return False
        until = self.clock() + self._lease(held.kind)
        try:
            ok = self.jobs.renew(held.job.id, self.owner, until)
        except Exception:  # unreachable store: not proof of loss, but nothing may be written
            log.warning("could not renew a lease", extra={"fields": {"job": held.job.id}})
            return False
        if not ok:
            held.lost.set()
            return False
        held.lease_until = until
        return True

    def _heartbeat(self) -> None:
        while not self._heart_stop.wait(self._beat()):
            with self._lock:
                held = list(self._held.values())
            for item in held:
                if not item.lost.is_set():
                    self.renew(item)

    def _beat(self) -> float:
        shortest = min([self.lease, *(k.lease_seconds or self.lease for k in self.registry)])
        return max(0.05, shortest / 4)


def _report(exc: Exception, job: Job) -> None:
    try:
        import sentry_sdk

        # Captured before logging: Sentry drops the same exception seen twice, and this copy
        # carries the job's tags.
        with sentry_sdk.new_scope() as scope:
            scope.set_tag("job", job.kind)
            scope.set_tag("key", job.ref or job.id)
            sentry_sdk.capture_exception(exc)
    except ImportError:  # sentry is a dependency; this only guards stripped installs
        pass
    log.error("job failed", exc_info=exc, extra={"fields": {"job": job.kind, "key": job.ref or job.id}})
