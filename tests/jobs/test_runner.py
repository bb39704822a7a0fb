"""The job runner with a real store (both engines): crashed jobs come back promptly, leases are
renewed while a job runs longer than the lease, a job that lost its lease writes nothing, kinds
have their own pools, and per-group caps hold."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from app.jobs.limits import AdaptiveLimit
from app.jobs.model import Done, Job, JobState, Outcome, Retry
from app.jobs.policy import Backoff
from app.jobs.registry import JobKind, Registry
from app.jobs.runner import QUEUE_CONTROL, JobContext, Periodic, Runner
from app.store.base import TxStore
from app.worker.metrics import Metrics


def job(n: int, kind: str = "k", group: str | None = None) -> Job:
    now = time.time()
    return Job(id=f"{kind}:{n}", kind=kind, due_at=now - 1, created_at=now, updated_at=now,
               ref=f"ref{n}", group=group)


def wait_until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def make_runner(store: TxStore, kinds: list[JobKind], lease: float = 600,
                ticker: float = 0.05) -> Runner:
    registry = Registry()
    for kind in kinds:
        registry.register(kind)
    return Runner(store.jobs, store.controls, registry, Metrics(), ticker_seconds=ticker,
                  lease_seconds=lease, batch=50)


def kind(name: str, handler: Callable[[Job, JobContext], Outcome], size: int = 4,
         group_cap: int | None = None, attempts: int = 5) -> JobKind:
    return JobKind(name, handler, AdaptiveLimit(size, 1, size, False), Backoff(base=0.05),
                   max_attempts=attempts, group_cap=group_cap)


def test_crashed_job_is_retried_without_waiting_for_its_lease(store: TxStore,
                                                              runners: list[Runner]) -> None:
    calls: list[int] = []

    def flaky(j: Job, ctx: JobContext) -> Outcome:
        calls.append(j.attempts)
        if j.attempts == 1:
            raise RuntimeError("boom")
        return Done()

    store.jobs.add(job(1))
    runner = make_runner(store, [kind("k", flaky)])
    runners.append(runner)
    runner.start()
    wait_until(lambda: (j := store.jobs.get("k:1")) is not None and j.state is JobState.SUCCEEDED)
    assert calls == [1, 2]
    assert runner.metrics.counters["job_errors"] == 1


def test_retries_are_scheduled_in_the_store_and_end_dead(store: TxStore,
                                                         runners: list[Runner]) -> None:
    store.jobs.add(job(1))
    runner = make_runner(store, [kind("k", lambda j, ctx: Retry("nope"), attempts=3)])
    runners.append(runner)
    runner.start()
    wait_until(lambda: (j := store.jobs.get("k:1")) is not None and j.state is JobState.DEAD)
    dead = store.jobs.get("k:1")
    assert dead is not None and dead.attempts == 3 and dead.last_error == "nope"


def test_a_job_slower_than_its_lease_keeps_it(store: TxStore, runners: list[Runner]) -> None:
    """Lease 4 s, job 12 s: the heartbeat renews it, so a second runner never claims it. (With
    a 2 s lease, a renewal on the MongoDB-wire test server of a loaded machine could come after
    the lease had run out: the lease itself was lost, not what this test checks.)"""
    runs: list[str] = []
    release = threading.Event()

    def slow(j: Job, ctx: JobContext) -> Outcome:
        runs.append(ctx.owner)
        release.wait(12)
        ctx.require()  # still the holder after three leases' worth of time
        return Done()

    store.jobs.add(job(1))
    first = make_runner(store, [kind("k", slow)], lease=4.0)
    runners.append(first)
    first.start()
    wait_until(lambda: len(runs) == 1)
    second = make_runner(store, [kind("k", slow)], lease=4.0)
    runners.append(second)
    second.start()
    wait_until(lambda: (j := store.jobs.get("k:1")) is not None and j.state is JobState.SUCCEEDED,
               timeout=60)
    assert runs == [first.owner]


def test_a_job_that_lost_its_lease_writes_nothing(store: TxStore, runners: list[Runner]) -> None:
    """Another owner took the job over (our lease ran out while the store was unreachable, say):
    the first holder's check fails and its outcome is not written."""
    entered = threading.Event()
    proceed = threading.Event()
    checks: list[bool] = []

    def handler(j: Job, ctx: JobContext) -> Outcome:
        entered.set()
        proceed.wait(10)
        checks.append(ctx.hold())
        return Done()

    store.jobs.add(job(1))
    runner = make_runner(store, [kind("k", handler)], lease=600)
    runners.append(runner)
    runner.start()
    assert entered.wait(10)
    # Steal it as if the lease had run out: another process claims it far in the future.
    [stolen] = store.jobs.claim("k", "thief", time.time() + 10_000, 600, 1)
    proceed.set()
    wait_until(lambda: checks != [])
    time.sleep(0.3)
    assert checks == [False]
    after = store.jobs.get("k:1")
    assert after is not None and after.state is JobState.RUNNING and after.lease_owner == "thief"
    assert stolen.attempts == 1  # the thief continues the attempt it took over


def test_each_kind_has_its_own_pool(store: TxStore, runners: list[Runner]) -> None:
    """Every slot of a slow kind is taken by hanging jobs; another kind still runs at once."""
    hang = threading.Event()

    def hanging(j: Job, ctx: JobContext) -> Outcome:
        hang.wait(30)
        return Done()

    for n in range(10):
        store.jobs.add(job(n, kind="slow"))
    store.jobs.add(job(1, kind="fast"))
    runner = make_runner(store, [kind("slow", hanging, size=2), kind("fast", lambda j, c: Done())])
    runners.append(runner)
    runner.start()
    try:
        wait_until(lambda: (j := store.jobs.get("fast:1")) is not None
                   and j.state is JobState.SUCCEEDED)
        assert store.jobs.counts("slow").get("running") == 2
    finally:
        hang.set()


def test_group_cap_holds_within_a_kind(store: TxStore, runners: list[Runner]) -> None:
    lock = threading.Lock()
    running: dict[str, int] = {}
    most: dict[str, int] = {}

    def handler(j: Job, ctx: JobContext) -> Outcome:
        group = j.group or ""
        with lock:
            running[group] = running.get(group, 0) + 1
            most[group] = max(most.get(group, 0), running[group])
        time.sleep(0.1)
        with lock:
            running[group] -= 1
        return Done()

    for n in range(12):
        store.jobs.add(job(n, group="one.example" if n % 2 else "two.example"))
    runner = make_runner(store, [kind("k", handler, size=8, group_cap=2)])
    runners.append(runner)
    runner.start()
    wait_until(lambda: store.jobs.counts("k") == {"succeeded": 12})
    assert most == {"one.example": 2, "two.example": 2}


class CountedControls:
    """The store's controls, counting the runner's reads (each pass reads them at least once)."""

    def __init__(self, controls: Any) -> None:
        self.controls = controls
        self.reads = 0

    def get(self, name: str) -> Any:
        self.reads += 1
        return self.controls.get(name)


def test_a_pause_stored_during_a_pass_holds_that_pass_claims(store: TxStore,
                                                            runners: list[Runner]) -> None:
    """A pass reads the operator's controls, then runs its housekeeping (seconds, on a busy
    store), then claims. A pause stored meanwhile, before a job is queued, must keep that job
    queued: the operator was told "paused" before it existed."""
    in_housekeeping, go_on = threading.Event(), threading.Event()
    ran: list[str] = []

    def housekeeping(now: float) -> None:
        if not in_housekeeping.is_set():
            in_housekeeping.set()
            go_on.wait(30)

    registry = Registry()
    registry.register(kind("k", lambda j, ctx: ran.append(j.id) or Done()))
    controls = CountedControls(store.controls)
    runner = Runner(store.jobs, controls, registry, Metrics(), ticker_seconds=0.05,  # type: ignore[arg-type]
                    lease_seconds=600, batch=50,
                    periodic=[Periodic("housekeeping", 3600, housekeeping, at_start=True)])
    runners.append(runner)
    runner.start()
    assert in_housekeeping.wait(30)
    store.controls.set(QUEUE_CONTROL, {"paused": True})
    store.jobs.add(job(1))
    reads = controls.reads
    go_on.set()
    # Two more reads: the pass that was under way has made its claims by then (and the next
    # pass has seen the pause), whether or not the pass reads the controls again first.
    wait_until(lambda: controls.reads >= reads + 2)
    queued = store.jobs.get("k:1")
    assert queued is not None and queued.state is JobState.QUEUED and ran == []
