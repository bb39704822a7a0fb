"""One contract, both engines: the jobs and controls stores behave the same on SQLite and MongoDB."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.jobs.model import Job, JobState
from app.store.base import TxStore
from tests.conftest import make_store


def job(n: int, kind: str = "k", due: float | None = None, group: str | None = None,
        ref: str | None = None) -> Job:
    now = time.time()
    return Job(id=f"{kind}:{n}", kind=kind, due_at=now - 1 if due is None else due,
               created_at=now + n / 1000, updated_at=now, ref=ref, group=group,
               data={"n": n})


def test_add_once_and_get(store: TxStore) -> None:
    assert store.jobs.add(job(1))
    assert not store.jobs.add(job(1))
    got = store.jobs.get("k:1")
    assert got is not None and got.state is JobState.QUEUED and got.data == {"n": 1}
    assert store.jobs.get("k:2") is None


def test_claim_is_exclusive_per_kind_and_counts_attempts(store: TxStore, engine: str,
                                                         tmp_path: Path,
                                                         request: pytest.FixtureRequest) -> None:
    for n in range(6):
        store.jobs.add(job(n))
    store.jobs.add(job(9, kind="other"))
    other = store if engine == "mongodb" else make_store(engine, tmp_path, request)
    results: list[list[Job]] = []

    def claim(owner: str, s: TxStore) -> None:
        results.append(s.jobs.claim("k", owner, time.time(), 30, 10))

    threads = [threading.Thread(target=claim, args=(f"w{i}", store if i % 2 else other))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = sorted(j.id for batch in results for j in batch)
    assert claimed == [f"k:{n}" for n in range(6)]  # each exactly once, only its kind
    one = store.jobs.get("k:0")
    assert one is not None and one.state is JobState.RUNNING and one.attempts == 1
    assert store.jobs.claim("k", "late", time.time(), 30, 10) == []
    again = store.jobs.claim("k", "late", time.time() + 31, 30, 10)  # every lease has expired
    assert sorted(j.id for j in again) == claimed
    # Taken over from holders that stopped renewing: the attempts they began go on, uncounted.
    assert all(j.lease_owner == "late" and j.attempts == 1 for j in again)
    now = time.time() + 31
    for j in again:
        assert store.jobs.finish(j.id, "late", now, JobState.RETRY_WAIT, due_at=now)
    retried = store.jobs.claim("k", "w0", now, 30, 10)
    assert sorted(j.id for j in retried) == claimed
    assert all(j.attempts == 2 for j in retried)  # started afresh: a new attempt


def test_not_due_and_skipped_groups_are_not_claimed(store: TxStore) -> None:
    store.jobs.add(job(1, due=time.time() + 3600))
    store.jobs.add(job(2, group="slow.example"))
    store.jobs.add(job(3, group="fine.example"))
    got = store.jobs.claim("k", "w", time.time(), 30, 10, skip_groups=["slow.example"])
    assert [j.id for j in got] == ["k:3"]


def test_per_group_limit_in_one_claim(store: TxStore) -> None:
    for n in range(6):
        store.jobs.add(job(n, group="busy.example"))
    store.jobs.add(job(7))
    store.jobs.add(job(8, group="other.example"))
    got = store.jobs.claim("k", "w", time.time(), 30, 10, per_group=2)
    groups = sorted(j.group or "-" for j in got)
    assert groups == ["-", "busy.example", "busy.example", "other.example"]


def test_a_full_group_with_many_due_jobs_does_not_hide_the_other_groups(store: TxStore) -> None:
    # 300 jobs of one receiver fall due first; a claim of 3 with one job per group still takes
    # the other groups' jobs (the claim reads at most the number it still wants per round).
    now = time.time()
    for n in range(300):
        store.jobs.add(job(n, due=now - 100 + n / 1000, group="busy.example"))
    store.jobs.add(job(400, due=now - 1, group="a.example"))
    store.jobs.add(job(401, due=now - 1, group="b.example"))
    store.jobs.add(job(402, due=now - 0.5))
    got = store.jobs.claim("k", "w", now, 30, 3, per_group=1)
    assert sorted(j.id for j in got) == ["k:0", "k:400", "k:401"]  # oldest of busy, then others
    # A claim that already runs the busy group's cap skips it in the query.
    more = store.jobs.claim("k", "w", now, 30, 5, skip_groups=["busy.example"], per_group=1)
    assert [j.id for j in more] == ["k:402"]
    # Each claimed once, leased to the claimer.
    assert all(j.state is JobState.RUNNING and j.lease_owner == "w" and j.attempts == 1
               for j in got + more)


def test_only_the_lease_holder_renews_and_finishes(store: TxStore) -> None:
    store.jobs.add(job(1))
    [claimed] = store.jobs.claim("k", "w1", time.time(), 30, 10)
    assert not store.jobs.renew(claimed.id, "w2", time.time() + 60)
    assert store.jobs.renew(claimed.id, "w1", time.time() + 60)
    assert not store.jobs.finish(claimed.id, "w2", time.time(), JobState.SUCCEEDED)
    now = time.time()
    assert store.jobs.finish(claimed.id, "w1", now, JobState.RETRY_WAIT, due_at=now + 5,
                             error="HTTP 500", entry={"status": 500})
    assert not store.jobs.finish(claimed.id, "w1", now, JobState.SUCCEEDED)  # lease dropped
    assert store.jobs.claim("k", "w2", now, 30, 10) == []  # not due yet
    [again] = store.jobs.claim("k", "w2", now + 6, 30, 10)
    assert again.attempts == 2 and again.last_error == "HTTP 500"
    assert store.jobs.finish(again.id, "w2", now + 6, JobState.SUCCEEDED, entry={"status": 200})
    final = store.jobs.get(again.id)
    assert final is not None and final.state is JobState.SUCCEEDED and final.lease_owner is None
    assert [e["status"] for e in final.log] == [500, 200]
    assert store.jobs.counts("k") == {"succeeded": 1}


def test_uncounted_reschedule_keeps_attempts(store: TxStore) -> None:
    store.jobs.add(job(1))
    [claimed] = store.jobs.claim("k", "w", time.time(), 30, 10)
    assert store.jobs.finish(claimed.id, "w", time.time(), JobState.QUEUED,
                             due_at=time.time() - 1, uncount=True)
    [again] = store.jobs.claim("k", "w", time.time(), 30, 10)
    assert again.attempts == 1


def test_rearm_final_waiting_and_running_jobs(store: TxStore) -> None:
    now = time.time()
    store.jobs.add(job(1))
    [claimed] = store.jobs.claim("k", "w", now, 30, 10)
    assert store.jobs.finish(claimed.id, "w", now, JobState.SUCCEEDED)
    assert not store.jobs.add(job(1), rearm=True)  # final: queued afresh
    fresh = store.jobs.get("k:1")
    assert fresh is not None and fresh.state is JobState.QUEUED and fresh.attempts == 0
    [running] = store.jobs.claim("k", "w", now, 30, 10)
    store.jobs.add(job(1), rearm=True)  # while it runs: it must run once more afterwards
    assert store.jobs.finish(running.id, "w", now, JobState.SUCCEEDED)
    after = store.jobs.get("k:1")
    assert after is not None and after.state is JobState.QUEUED and not after.rearm
    assert store.jobs.claim("k", "w", time.time(), 30, 10) != []


def test_waiting_jobs_wake_on_signal_or_time(store: TxStore) -> None:
    now = time.time()
    store.jobs.add(job(1))
    store.jobs.add(job(2))
    a, b = store.jobs.claim("k", "w", now, 30, 10)
    store.jobs.finish(a.id, "w", now, JobState.WAITING, due_at=now + 3600, event="e1", uncount=True)
    store.jobs.finish(b.id, "w", now, JobState.WAITING, due_at=now + 5, event="e2", uncount=True)
    assert store.jobs.claim("k", "w", now, 30, 10) == []
    assert store.jobs.signal("e1", now) == 1
    assert [j.id for j in store.jobs.claim("k", "w", now, 30, 10)] == [a.id]
    assert [j.id for j in store.jobs.claim("k", "w", now + 6, 30, 10)] == [b.id]  # its time came


def test_refs_listing_and_retention(store: TxStore) -> None:
    now = time.time()
    store.jobs.add(job(1, ref="tx1"))
    store.jobs.add(job(2, ref="tx1"))
    store.jobs.add(job(3, ref="tx2"))
    assert [j.id for j in store.jobs.for_ref("tx1", "k")] == ["k:1", "k:2"]
    assert store.jobs.active_refs("k", ["tx1", "tx2", "tx3"]) == {"tx1", "tx2"}
    for claimed in store.jobs.claim("k", "w", now, 30, 10):
        if claimed.ref == "tx2":
            store.jobs.finish(claimed.id, "w", now - 100, JobState.DEAD, error="gone")
    assert store.jobs.active_refs("k", ["tx2"]) == set()
    assert store.jobs.delete_final_before(now - 50, 10) == 1
    assert store.jobs.get("k:3") is None


def test_controls(store: TxStore) -> None:
    assert store.controls.get("queue") is None
    store.controls.set("queue", {"paused": True})
    store.controls.set("queue", {"paused": False, "concurrency": 5})
    assert store.controls.get("queue") == {"paused": False, "concurrency": 5}
