"""The jobs and controls tables of the SQLite engine (same file and connections as the records).

Every write runs on the store's writer thread (app/store/sqlite_writer.py), inside a transaction that
holds SQLite's write lock: a claim's select and update are atomic; every write after it is
conditional on ``lease_owner``, so a process that lost its lease changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection
from typing import Any

from app.jobs.claims import ClaimPlan
from app.jobs.model import Job, JobState
from app.store.sqlite_outages import outages_unavailable
from app.store.sqlite_writer import SqliteWriter, writes
from app.webhooks.delivery import receiver_host

_ACTIVE = ("queued", "running", "retry_wait", "waiting")
_DUE = "state IN ('queued', 'retry_wait', 'waiting') AND due_at <= ?"
_EXPIRED = "state = 'running' AND lease_until < ?"
_COLUMNS = ("id", "kind", "ref", "grp", "state", "due_at", "attempts", "data", "log",
            "last_error", "lease_owner", "lease_until", "rearm", "event", "created_at",
            "updated_at")


def _job(row: sqlite3.Row) -> Job:
    return Job(id=row["id"], kind=row["kind"], due_at=row["due_at"], created_at=row["created_at"],
               updated_at=row["updated_at"], ref=row["ref"], group=row["grp"],
               state=JobState(row["state"]), attempts=row["attempts"],
               data=json.loads(row["data"]), log=json.loads(row["log"]),
               last_error=row["last_error"], lease_owner=row["lease_owner"],
               lease_until=row["lease_until"], rearm=bool(row["rearm"]), event=row["event"])


def _values(job: Job) -> list[Any]:
    return [job.id, job.kind, job.ref, job.group, job.state.value, job.due_at, job.attempts,
            json.dumps(job.data), json.dumps(job.log), job.last_error, job.lease_owner,
            job.lease_until, int(job.rearm), job.event, job.created_at, job.updated_at]


def _candidates(conn: sqlite3.Connection, kind: str, now: float, skip: list[str],
                limit: int) -> list[tuple[str, str | None]]:
    """Expired leases first (their holders died), then the longest overdue: a backlog is worked
    through in order and a retry that fell due is not overtaken forever."""
    not_skipped = (f" AND (grp IS NULL OR grp NOT IN ({','.join('?' * len(skip))}))"
                   if skip else "")
    rows = conn.execute(
        f"SELECT id, grp FROM jobs WHERE kind = ? AND {_EXPIRED}{not_skipped} "
        f"LIMIT ?", (kind, now, *skip, limit)).fetchall()
    rows += conn.execute(
        f"SELECT id, grp FROM jobs WHERE kind = ? AND {_DUE}{not_skipped} "
        f"ORDER BY due_at LIMIT ?", (kind, now, *skip, limit)).fetchall()
    return [(r[0], r[1]) for r in rows]


@outages_unavailable
class SqliteJobStore:
    def __init__(self, conn: Callable[[], sqlite3.Connection], writer: SqliteWriter) -> None:
        """``conn``: this thread's connection, for reads; ``writer``: the records store's."""
        self._conn = conn
        self.writer = writer

    @writes
    def add(self, conn: sqlite3.Connection, job: Job, rearm: bool = False) -> bool:
        cur = conn.execute(f"INSERT OR IGNORE INTO jobs ({','.join(_COLUMNS)}) "
                           f"VALUES ({','.join('?' * len(_COLUMNS))})", _values(job))
        if cur.rowcount == 1 or not rearm:
            return cur.rowcount == 1
        conn.execute(
            "UPDATE jobs SET "
            "rearm = CASE WHEN state = 'running' THEN 1 ELSE rearm END, "
            "attempts = CASE WHEN state IN ('succeeded', 'dead') THEN 0 ELSE attempts END, "
            "due_at = CASE WHEN state IN ('succeeded', 'dead') THEN ? "
            "  WHEN state = 'running' THEN ? ELSE min(due_at, ?) END, "
            "data = CASE WHEN state IN ('succeeded', 'dead') THEN ? ELSE data END, "
            "state = CASE WHEN state = 'running' THEN 'running' ELSE 'queued' END, "
            "last_error = CASE WHEN state IN ('succeeded', 'dead') THEN NULL "
            "  ELSE last_error END, "
            "event = NULL, updated_at = ? WHERE id = ?",
            (job.due_at, job.due_at, job.due_at, json.dumps(job.data), job.updated_at, job.id))
        return False

    def claim(self, kind: str, owner: str, now: float, lease_seconds: float, limit: int,
              skip_groups: Collection[str] = (), per_group: int | None = None) -> list[Job]:
        # Most claims find nothing due (every tick, per kind): a read on this thread's
        # connection says so without queueing a transaction behind the writer's other work.
        first = ClaimPlan.start(limit, skip_groups, per_group).next_read()
        if first is None or not _candidates(self._conn(), kind, now, first[1], 1):
            return []
        return self._claim(kind, owner, now, lease_seconds, limit, skip_groups, per_group)

    @writes
    def _claim(self, conn: sqlite3.Connection, kind: str, owner: str, now: float,
               lease_seconds: float, limit: int, skip_groups: Collection[str],
               per_group: int | None) -> list[Job]:
        plan = ClaimPlan.start(limit, skip_groups, per_group)
        ids: list[str] = []
        # The reads again, under the write lock this time: rounds of reading at most the number
        # still wanted, with the groups at their cap left out of the query (app/jobs/claims.py
        # decides which), each leasing what it chose at once so that the next does not see it.
        # A job started afresh opens an attempt; one taken over after its lease ran out continues
        # the attempt its holder opened (docs/architecture.md, "Background work").
        while (read := plan.next_read()) is not None:
            want, skip = read
            chosen = plan.choose(_candidates(conn, kind, now, skip, want))
            conn.executemany(
                "UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, "
                "attempts = CASE WHEN state = 'running' THEN attempts ELSE attempts + 1 END, "
                "event = NULL, updated_at = ? WHERE id = ?",
                [(owner, now + lease_seconds, now, i) for i in chosen])
            plan.leased(len(chosen))
            ids += chosen
        found = [conn.execute("SELECT * FROM jobs WHERE id = ?", (i,)).fetchone()
                 for i in ids]
        return [_job(r) for r in found]

    @writes
    def renew(self, conn: sqlite3.Connection, job_id: str, owner: str, lease_until: float) -> bool:
        cur = conn.execute(
            "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? "
            "AND state = 'running'", (lease_until, job_id, owner))
        return cur.rowcount == 1

    @writes
    def finish(self, conn: sqlite3.Connection, job_id: str, owner: str, now: float,
               state: JobState, *, due_at: float | None = None, error: str | None = None,
               entry: dict[str, Any] | None = None, event: str | None = None,
               uncount: bool = False) -> bool:
        row = conn.execute("SELECT log, rearm, due_at FROM jobs WHERE id = ? "
                           "AND lease_owner = ? AND state = 'running'",
                           (job_id, owner)).fetchone()
        if row is None:
            return False
        log = json.loads(row["log"])
        if entry is not None:
            log.append(entry)
        new_due = due_at if due_at is not None else row["due_at"]
        if row["rearm"] and state.final:
            state, new_due, event = JobState.QUEUED, min(new_due, now), None
        conn.execute(
            "UPDATE jobs SET state = ?, due_at = ?, last_error = ?, log = ?, event = ?, "
            "lease_owner = NULL, lease_until = NULL, rearm = 0, updated_at = ?, "
            "attempts = attempts - ? WHERE id = ?",
            (state.value, new_due, error, json.dumps(log), event, now, int(uncount),
             job_id))
        return True

    @writes
    def signal(self, conn: sqlite3.Connection, event: str, now: float) -> int:
        cur = conn.execute(
            "UPDATE jobs SET state = 'queued', due_at = ?, event = NULL, updated_at = ? "
            "WHERE event = ? AND state = 'waiting'", (now, now, event))
        return cur.rowcount

    def get(self, job_id: str) -> Job | None:
        row = self._conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _job(row)

    def for_ref(self, ref: str, kind: str) -> list[Job]:
        rows = self._conn().execute("SELECT * FROM jobs WHERE ref = ? AND kind = ? "
                                    "ORDER BY created_at, id", (ref, kind)).fetchall()
        return [_job(r) for r in rows]

    def active_refs(self, kind: str, refs: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(refs), 500):
            batch = refs[start:start + 500]
            rows = self._conn().execute(
                f"SELECT ref FROM jobs WHERE kind = ? AND state IN {_ACTIVE} "
                f"AND ref IN ({','.join('?' * len(batch))})", (kind, *batch)).fetchall()
            found.update(r[0] for r in rows)
        return found

    def counts(self, kind: str) -> dict[str, int]:
        rows = self._conn().execute("SELECT state, count(*) FROM jobs WHERE kind = ? "
                                    "GROUP BY state", (kind,)).fetchall()
        return {r[0]: r[1] for r in rows}

    @writes
    def delete_final_before(self, conn: sqlite3.Connection, cutoff: float, limit: int) -> int:
        cur = conn.execute(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE state IN "
            "('succeeded', 'dead') AND updated_at < ? LIMIT ?)", (cutoff, limit))
        return cur.rowcount

    @writes
    def put(self, conn: sqlite3.Connection, job: Job) -> None:
        conn.execute(f"INSERT OR REPLACE INTO jobs ({','.join(_COLUMNS)}) "
                     f"VALUES ({','.join('?' * len(_COLUMNS))})", _values(job))


@outages_unavailable
class SqliteControlStore:
    def __init__(self, conn: Callable[[], sqlite3.Connection], writer: SqliteWriter) -> None:
        """``conn``: this thread's connection, for reads; ``writer``: the records store's."""
        self._conn = conn
        self.writer = writer

    def get(self, name: str) -> dict[str, Any] | None:
        row = self._conn().execute("SELECT value FROM controls WHERE name = ?", (name,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    @writes
    def set(self, conn: sqlite3.Connection, name: str, value: dict[str, Any]) -> None:
        conn.execute("INSERT INTO controls (name, value) VALUES (?, ?) "
                     "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                     (name, json.dumps(value)))


_STATES = {"pending": "queued", "delivered": "succeeded", "failed": "dead"}


def migrate_deliveries(conn: sqlite3.Connection) -> None:
    """Move callbacks from the table used before the job queue into jobs, once."""
    exists = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'"
    if conn.execute(exists).fetchone() is None:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute(exists).fetchone() is None:  # another process moved them meanwhile
            conn.execute("COMMIT")
            return
        for row in conn.execute("SELECT * FROM deliveries").fetchall():
            data = {"url": row["url"], "payload": json.loads(row["payload"]), "msgId": row["id"]}
            job = Job(id=f"deliver_callback:{row['id']}", kind="deliver_callback",
                      due_at=row["due_at"], created_at=row["created_at"],
                      updated_at=row["created_at"], ref=row["tx_hash"],
                      group=receiver_host(row["url"]), state=JobState(_STATES[row["status"]]),
                      attempts=row["attempts"], data=data, log=json.loads(row["log"]),
                      last_error=row["last_error"])
            conn.execute(f"INSERT OR IGNORE INTO jobs ({','.join(_COLUMNS)}) "
                         f"VALUES ({','.join('?' * len(_COLUMNS))})", _values(job))
        conn.execute("DROP TABLE deliveries")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise

