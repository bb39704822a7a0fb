"""The embedded engine: stdlib sqlite3 in WAL mode, one connection per thread.

WAL with synchronous=FULL (the default): a write is acknowledged only once its commit is fsynced, so
it survives ``kill -9``, an OS crash and power loss (NORMAL, an operator's choice, survives only
``kill -9``). Every write runs on the store's writer thread (app/store/sqlite_writer.py), which
commits whatever is queued in one transaction; every state change is a conditional statement.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from app.jobs.model import Job
from app.settings import SQLITE_SYNCHRONOUS
from app.store.base import Page, SnapshotUnavailable, TxQuery, evaluated
from app.store.snapshot import (
    CONTROLS,
    JOBS,
    RECORDS,
    TX_KINDS,
    Kind,
    StoreExport,
    control_row,
    given,
    job_row,
    record_row,
    row_job,
    row_record,
)
from app.store.sqlite_connections import ThreadConnections, read_transaction, sqlite_uri
from app.store.sqlite_connections import rows as _rows
from app.store.sqlite_jobs import _COLUMNS as _JOB_COLUMNS
from app.store.sqlite_jobs import SqliteControlStore, SqliteJobStore, _job, migrate_deliveries
from app.store.sqlite_jobs import _values as _job_values
from app.store.sqlite_outages import outages_unavailable
from app.store.sqlite_writer import SqliteWriter, writes
from app.txs.model import StoredSignature, TxRecord, TxStatus

_SCHEMA = """
CREATE TABLE IF NOT EXISTS txs (
  hash TEXT PRIMARY KEY,
  inner_hash TEXT,
  network TEXT NOT NULL,
  xdr TEXT NOT NULL,
  status TEXT NOT NULL,
  submit INTEGER NOT NULL DEFAULT 0,
  callback_url TEXT,
  desired_signers TEXT,
  min_time INTEGER NOT NULL DEFAULT 0,
  max_time INTEGER,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  ready_at REAL,
  submitted INTEGER,
  error TEXT,
  result TEXT,
  derived TEXT NOT NULL DEFAULT '{}',
  sig_count INTEGER NOT NULL DEFAULT 0,
  private INTEGER NOT NULL DEFAULT 0,
  creator TEXT,
  next_attempt_at REAL
);
CREATE INDEX IF NOT EXISTS txs_inner_hash_created ON txs(inner_hash, created_at)
  WHERE inner_hash IS NOT NULL;
CREATE INDEX IF NOT EXISTS txs_created ON txs(created_at, hash);
CREATE INDEX IF NOT EXISTS txs_status_updated ON txs(status, updated_at);
CREATE INDEX IF NOT EXISTS txs_max_time ON txs(status, max_time) WHERE max_time IS NOT NULL;
CREATE INDEX IF NOT EXISTS txs_status_created ON txs(status, created_at, hash);
CREATE TABLE IF NOT EXISTS signatures (
  tx_hash TEXT NOT NULL REFERENCES txs(hash) ON DELETE CASCADE,
  key TEXT NOT NULL,
  signature BLOB NOT NULL,
  added_at REAL NOT NULL,
  UNIQUE (tx_hash, key)
);
CREATE TABLE IF NOT EXISTS tx_parties (
  tx_hash TEXT NOT NULL REFERENCES txs(hash) ON DELETE CASCADE,
  party TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at REAL,
  PRIMARY KEY (tx_hash, party, role)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT,
  grp TEXT,
  state TEXT NOT NULL,
  due_at REAL NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL DEFAULT '{}',
  log TEXT NOT NULL DEFAULT '[]',
  last_error TEXT,
  lease_owner TEXT,
  lease_until REAL,
  rearm INTEGER NOT NULL DEFAULT 0,
  event TEXT,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs(kind, due_at)
  WHERE state IN ('queued', 'retry_wait', 'waiting');
CREATE INDEX IF NOT EXISTS jobs_lease ON jobs(kind, state, lease_until);
CREATE INDEX IF NOT EXISTS jobs_ref ON jobs(ref, kind);
CREATE INDEX IF NOT EXISTS jobs_event ON jobs(event) WHERE event IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_final ON jobs(state, updated_at);
CREATE INDEX IF NOT EXISTS jobs_kind_state ON jobs(kind, state);
CREATE TABLE IF NOT EXISTS controls (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
"""

# Each party's records newest first, straight from the index: an account's listing costs the same
# whatever the length of its history (the record's created_at is copied here for that reason).
_PARTIES_BY_TIME = """
DROP INDEX IF EXISTS parties_by_party;
DROP INDEX IF EXISTS txs_inner_hash;
CREATE INDEX IF NOT EXISTS parties_by_time ON tx_parties(party, created_at, tx_hash, role);
"""

AUTOCHECKPOINT_PAGES = 20_000
CHECKPOINT_SECONDS = 0.5
_JSON_FIELDS = {"desired_signers", "result", "derived"}
_COLUMNS = (
    "hash", "inner_hash", "network", "xdr", "status", "submit", "callback_url", "desired_signers",
    "min_time", "max_time", "created_at", "updated_at", "ready_at", "submitted", "error", "result",
    "derived", "sig_count", "next_attempt_at", "private", "creator",
)
# Columns added after the first release, with their definitions: databases made before get them
# by ALTER TABLE at start (``ensure_schema``).
_ADDED_COLUMNS = {"private": "INTEGER NOT NULL DEFAULT 0", "creator": "TEXT",
                  "next_attempt_at": "REAL"}


def check_synchronous(value: str) -> str:
    """The PRAGMA value, checked: it is interpolated into SQL."""
    if value.upper() not in SQLITE_SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {', '.join(SQLITE_SYNCHRONOUS)}: {value!r}")
    return value.upper()


def _to_db(name: str, value: Any) -> Any:
    if name in _JSON_FIELDS:
        return None if value is None else json.dumps(value, separators=(",", ":"))
    if isinstance(value, TxStatus):
        return value.value
    if isinstance(value, bool):
        return int(value)
    return value


_INSERT_PARTY = ("INSERT OR IGNORE INTO tx_parties (tx_hash, party, role, created_at) "
                 "VALUES (?,?,?,?)")


def _parties(record: TxRecord) -> list[tuple[str, str, str, float]]:
    rows = [(record.hash, a, "source", record.created_at) for a in record.sources]
    return rows + [(record.hash, s, "signer", record.created_at) for s in record.signers]


@outages_unavailable
class SqliteStore:
    inline_reads = True
    engine = "sqlite"

    def __init__(self, path: str, synchronous: str = "FULL", busy_timeout: float = 30.0) -> None:
        self.path = path
        self.synchronous = check_synchronous(synchronous)
        self._connections = ThreadConnections(path, self.synchronous, self._setup, busy_timeout)
        self._checkpointer_lock = threading.Lock()
        # One writer thread per process, committing whatever is queued at once: SQLite's own busy
        # handler sleeps with growing back-off, and one fsync per write would cap the throughput.
        # Other processes still wait for each other through busy_timeout.
        self._writer = SqliteWriter(
            self._conn, lock_path=None if path == ":memory:" else path + "-writer-lock")
        self._closing = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self.jobs = SqliteJobStore(self._conn, self._writer)
        self.controls = SqliteControlStore(self._conn, self._writer)

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    @property
    def writer(self) -> SqliteWriter:
        """The one writer of this file in this process (the co-signer store shares it)."""
        return self._writer

    # -- connections --

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def _setup(self, conn: sqlite3.Connection) -> None:
        """This store's pragmas on each new connection, and the checkpoint thread with the first."""
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        # Checkpoints run on a background thread (see _checkpoints) instead of inside whichever
        # request commits the 1000th page; this bound only matters if that thread falls behind.
        conn.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        with self._checkpointer_lock:
            if self._checkpointer is None and self.path != ":memory:":
                self._checkpointer = threading.Thread(target=self._checkpoints, daemon=True,
                                                      name="refractor-sqlite-checkpoint")
                self._checkpointer.start()

    def _checkpoints(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._closing.wait(CHECKPOINT_SECONDS):
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                               check_same_thread=False)
                    # PASSIVE copies what it can without waiting for, or blocking, readers and
                    # writers.
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass  # the database cannot be reached now (requests report it): next round
        finally:
            if conn is not None:
                conn.close()

    def close(self) -> None:
        self._writer.close()
        self._closing.set()
        if self._checkpointer is not None:
            self._checkpointer.join(5)
        self._connections.close()

    def ensure_schema(self) -> None:
        conn = self._conn()
        have = {row["name"] for row in conn.execute("PRAGMA table_info(txs)")}
        if have:
            for name, definition in _ADDED_COLUMNS.items():
                if name not in have:
                    with contextlib.suppress(sqlite3.OperationalError):  # another process did it
                        conn.execute(f"ALTER TABLE txs ADD COLUMN {name} {definition}")
        conn.executescript(_SCHEMA)
        if "created_at" not in self._columns(conn, "tx_parties"):
            # A database written by an earlier version; at start-up, on this thread's connection.
            conn.execute("BEGIN IMMEDIATE")
            try:
                if "created_at" not in self._columns(conn, "tx_parties"):  # another process?
                    conn.execute("ALTER TABLE tx_parties ADD COLUMN created_at REAL")
                    conn.execute("UPDATE tx_parties SET created_at = (SELECT created_at "
                                 "FROM txs WHERE txs.hash = tx_parties.tx_hash)")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        conn.executescript(_PARTIES_BY_TIME)
        # A database from before the job queue: its queue columns stay, unused; its callbacks
        # move to the jobs table.
        conn.executescript("DROP INDEX IF EXISTS txs_due; DROP INDEX IF EXISTS txs_lease;")
        migrate_deliveries(conn)

    @staticmethod
    def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
        return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}

    def ping(self) -> None:
        self._conn().execute("SELECT 1").fetchone()

    # -- records --

    @writes
    def insert(self, conn: sqlite3.Connection, record: TxRecord, jobs: Sequence[Job] = ()) -> bool:
        values = [_to_db(c, getattr(record, c)) for c in _COLUMNS]
        cur = conn.execute(
            f"INSERT OR IGNORE INTO txs ({','.join(_COLUMNS)}) "
            f"VALUES ({','.join('?' * len(_COLUMNS))})", values)
        inserted = cur.rowcount == 1
        if inserted:
            conn.executemany(_INSERT_PARTY, _parties(record))
            conn.executemany("INSERT INTO signatures (tx_hash, key, signature, added_at) "
                             "VALUES (?,?,?,?)", [(record.hash, s.key, s.signature, s.added_at)
                                                  for s in record.signatures])
            for job in jobs:  # same transaction: a ready record never exists without its job
                self.jobs.add(job, rearm=True)
        return inserted

    def get(self, tx_hash: str, by_inner: bool = True) -> TxRecord | None:
        conn = self._conn()
        row = conn.execute("SELECT * FROM txs WHERE hash = ?", (tx_hash,)).fetchone()
        if row is None and by_inner:
            row = conn.execute("SELECT * FROM txs WHERE inner_hash = ? AND inner_hash IS NOT NULL "
                               "ORDER BY created_at LIMIT 1", (tx_hash,)).fetchone()
        return None if row is None else self._load(conn, row)

    def _load(self, conn: sqlite3.Connection, row: sqlite3.Row, with_parties: bool = False,
              signatures: list[StoredSignature] | None = None) -> TxRecord:
        # One pass over the row: a sqlite3.Row looks a name up by comparing it with each column
        # name in turn, which for every column of a record cost more than the query itself.
        named = dict(zip(row.keys(), row, strict=True))
        data = {c: named[c] for c in _COLUMNS}
        for name in _JSON_FIELDS:
            data[name] = None if data[name] is None else json.loads(data[name])
        data["status"] = TxStatus(data["status"])
        data["submit"] = bool(data["submit"])
        data["private"] = bool(data["private"])
        record = TxRecord(**data)
        record.signatures = signatures if signatures is not None else [
            StoredSignature(r[0], bytes(r[1]), r[2])
            for r in conn.execute("SELECT key, signature, added_at FROM signatures "
                                  "WHERE tx_hash = ? ORDER BY rowid", (record.hash,))
        ]
        if with_parties or record.private:  # a private record's parties decide who sees it
            for party, role in conn.execute("SELECT party, role FROM tx_parties WHERE tx_hash = ?",
                                            (record.hash,)):
                (record.sources if role == "source" else record.signers).append(party)
        return record

    @writes
    def add_signatures(self, conn: sqlite3.Connection, tx_hash: str,
                       signatures: list[StoredSignature], limit: int) -> list[StoredSignature]:
        added: list[StoredSignature] = []
        for sig in signatures:
            cur = conn.execute(
                "INSERT INTO signatures (tx_hash, key, signature, added_at) "
                "SELECT ?, ?, ?, ? WHERE (SELECT sig_count FROM txs WHERE hash = ?) < ? "
                "ON CONFLICT (tx_hash, key) DO NOTHING",
                (tx_hash, sig.key, sig.signature, sig.added_at, tx_hash, limit))
            if cur.rowcount == 1:
                conn.execute("UPDATE txs SET sig_count = sig_count + 1, updated_at = ? "
                             "WHERE hash = ?", (sig.added_at, tx_hash))
                added.append(sig)
        return added

    @writes
    def save_evaluation(self, conn: sqlite3.Connection, tx_hash: str, sig_count: int,
                        derived: dict[str, Any], ready: bool, now: float) -> bool:
        cur = conn.execute(
            "UPDATE txs SET derived = ?, "
            "status = CASE WHEN ? AND status = 'pending' THEN 'ready' ELSE status END, "
            "ready_at = CASE WHEN ? AND status = 'pending' THEN ? ELSE ready_at END "
            "WHERE hash = ? AND sig_count = ?",
            (_to_db("derived", derived), ready, ready, now, tx_hash, sig_count))
        return cur.rowcount == 1

    @writes
    def add_evaluated(self, conn: sqlite3.Connection, before: TxRecord,
                      signatures: list[StoredSignature], derived: dict[str, Any] | None,
                      ready: bool, now: float, jobs: Sequence[Job] = ()) -> TxRecord | None:
        after = evaluated(before, signatures, derived, ready, now)
        changed = [name for name in ("sig_count", "updated_at", "derived", "status", "ready_at")
                   if getattr(after, name) != getattr(before, name)]
        if not changed:
            return after
        cur = conn.execute(
            f"UPDATE txs SET {', '.join(f'{name} = ?' for name in changed)} "
            "WHERE hash = ? AND sig_count = ? AND status = ?",
            [*(_to_db(name, getattr(after, name)) for name in changed), before.hash,
             before.sig_count, before.status.value])
        if cur.rowcount == 1:
            conn.executemany("INSERT INTO signatures (tx_hash, key, signature, added_at) "
                             "VALUES (?,?,?,?)",
                             [(before.hash, s.key, s.signature, s.added_at) for s in signatures])
            for job in jobs:  # same transaction as the move to ready
                self.jobs.add(job, rearm=True)
        return after if cur.rowcount == 1 else None

    @writes
    def transition(self, conn: sqlite3.Connection, tx_hash: str, expected: TxStatus, new: TxStatus,
                   fields: dict[str, Any]) -> bool:
        sets = {"status": new, **fields}
        assignments = ", ".join(f"{k} = ?" for k in sets)
        cur = conn.execute(
            f"UPDATE txs SET {assignments} WHERE hash = ? AND status = ?",
            [*(_to_db(k, v) for k, v in sets.items()), tx_hash, expected.value])
        return cur.rowcount == 1

    @writes
    def update_fields(self, conn: sqlite3.Connection, tx_hash: str, fields: dict[str, Any]) -> bool:
        assignments = ", ".join(f"{k} = ?" for k in fields)
        cur = conn.execute(f"UPDATE txs SET {assignments} WHERE hash = ?",
                           [*(_to_db(k, v) for k, v in fields.items()), tx_hash])
        return cur.rowcount == 1

    def search(self, query: TxQuery) -> Page:
        """Newest first. With a party (account, signer, awaiting) the rows come in order from that
        party's index entries, so the cost does not grow with the party's history; each record has
        at most two entries per party (source, signer), so twice the page size is enough rows."""
        where: list[str] = []
        args: list[Any] = []
        party = query.account or query.signer or query.awaiting
        role_signer = query.signer is not None or query.awaiting is not None
        order = "t.created_at DESC, t.hash DESC"
        if party is not None:
            sql = "SELECT t.* FROM tx_parties p JOIN txs t ON t.hash = p.tx_hash"
            where.append("p.party = ?")
            args.append(party)
            order = "p.created_at DESC, p.tx_hash DESC"
            if role_signer:
                where.append("p.role = 'signer'")
            if query.account and query.account != party:
                where.append("t.hash IN (SELECT tx_hash FROM tx_parties WHERE party = ?)")
                args.append(query.account)
            for other in (query.signer, query.awaiting):
                if other is not None and other != party:
                    where.append("t.hash IN (SELECT tx_hash FROM tx_parties WHERE party = ? "
                                 "AND role = 'signer')")
                    args.append(other)
            if query.cursor:
                # A row value: one seek into the party's index entries, at the cursor.
                where.append("(p.created_at, p.tx_hash) < (?, ?)")
                args += [query.cursor[0], query.cursor[1]]
        else:
            sql = "SELECT t.* FROM txs t"
            if query.cursor:
                where.append("(t.created_at, t.hash) < (?, ?)")
                args += [query.cursor[0], query.cursor[1]]
        if query.awaiting:
            where.append("t.status = 'pending' AND NOT EXISTS (SELECT 1 FROM signatures s "
                         "WHERE s.tx_hash = t.hash AND s.key = ?)")
            args.append(query.awaiting)
        if query.status:
            where.append("t.status = ?")
            args.append(query.status.value)
        if query.network:
            where.append("t.network = ?")
            args.append(query.network)
        if query.viewer:
            where.append("(t.private = 0 OR t.creator = ? OR EXISTS (SELECT 1 FROM tx_parties v "
                         "WHERE v.tx_hash = t.hash AND v.party = ?))")
            args += [query.viewer, query.viewer]
        else:
            where.append("t.private = 0")
        if where:
            sql += " WHERE " + " AND ".join(where)
        wanted = query.limit + 1
        sql += f" ORDER BY {order} LIMIT ?"
        conn = self._conn()
        rows = conn.execute(sql, [*args, wanted * 2 if party is not None else wanted]).fetchall()
        unique = list({r["hash"]: r for r in rows}.values())[:wanted]
        shown = unique[: query.limit]
        # The page's signatures in one statement, not one per record.
        signatures: dict[str, list[StoredSignature]] = {r["hash"]: [] for r in shown}
        if shown:
            for tx_hash, key, signature, added_at in conn.execute(
                    "SELECT tx_hash, key, signature, added_at FROM signatures WHERE tx_hash IN "
                    f"({','.join('?' * len(shown))}) ORDER BY rowid", list(signatures)):
                signatures[tx_hash].append(StoredSignature(key, bytes(signature), added_at))
        items = [self._load(conn, r, signatures=signatures[r["hash"]]) for r in shown]
        more = len(unique) > query.limit
        return Page(items, (items[-1].created_at, items[-1].hash) if more and items else None)

    def iter_all(self) -> Iterator[TxRecord]:
        conn = self._conn()
        last = ""
        while True:
            rows = conn.execute("SELECT * FROM txs WHERE hash > ? ORDER BY hash LIMIT 500",
                                (last,)).fetchall()
            if not rows:
                return
            for row in rows:
                yield self._load(conn, row, with_parties=True)
            last = rows[-1]["hash"]

    @writes
    def restore(self, conn: sqlite3.Connection, record: TxRecord) -> None:
        conn.execute("DELETE FROM txs WHERE hash = ?", (record.hash,))
        conn.execute(f"INSERT INTO txs ({','.join(_COLUMNS)}) VALUES "
                     f"({','.join('?' * len(_COLUMNS))})",
                     [_to_db(c, getattr(record, c)) for c in _COLUMNS])
        conn.executemany("INSERT INTO signatures (tx_hash, key, signature, added_at) "
                         "VALUES (?,?,?,?)",
                         [(record.hash, s.key, s.signature, s.added_at) for s in record.signatures])
        conn.executemany(_INSERT_PARTY, _parties(record))

    def count_by_status(self) -> dict[str, int]:
        rows = self._conn().execute("SELECT status, count(*) FROM txs GROUP BY status").fetchall()
        return {r[0]: r[1] for r in rows}

    @writes
    def delete_final_before(self, conn: sqlite3.Connection, cutoff: float, limit: int) -> int:
        hashes = [(r[0],) for r in conn.execute(
            "SELECT hash FROM txs WHERE status IN ('processed', 'failed') AND updated_at < ? "
            "LIMIT ?", (cutoff, limit))]
        # Their finished jobs (callbacks and their logs) go with them.
        conn.executemany("DELETE FROM jobs WHERE ref = ? AND state IN ('succeeded', 'dead')",
                         hashes)
        conn.executemany("DELETE FROM txs WHERE hash = ?", hashes)
        return len(hashes)

    @writes
    def delete_unsigned_before(self, conn: sqlite3.Connection, cutoff: float, limit: int) -> int:
        cur = conn.execute(
            "DELETE FROM txs WHERE hash IN (SELECT hash FROM txs WHERE status = 'pending' "
            "AND sig_count = 0 AND created_at < ? LIMIT ?)", (cutoff, limit))
        return cur.rowcount

    def expired(self, now: float, limit: int) -> list[str]:
        rows = self._conn().execute(
            "SELECT hash FROM txs WHERE status IN ('pending', 'ready') AND max_time IS NOT NULL "
            "AND max_time > 0 AND max_time < ? LIMIT ?", (now, limit)).fetchall()
        return [r[0] for r in rows]

    def hashes_with_status(self, status: TxStatus, limit: int) -> list[str]:
        rows = self._conn().execute("SELECT hash FROM txs WHERE status = ? LIMIT ?",
                                    (status.value, limit)).fetchall()
        return [r[0] for r in rows]

    # -- snapshots (backups and restores): every table, whole --

    snapshot_kinds: tuple[Kind, ...] = TX_KINDS

    @contextlib.contextmanager
    def export_snapshot(self) -> Iterator[StoreExport]:
        """Records, jobs and controls read in one read transaction on a connection of its own (WAL
        lets the service keep writing meanwhile)."""
        with read_transaction(self._connections) as (conn, own):
            yield StoreExport("snapshot" if own else "per-document", {
                RECORDS.name: self._export_records(conn),
                JOBS.name: (job_row(_job(r)) for r in _rows(conn, "SELECT * FROM jobs ORDER BY id")),
                CONTROLS.name: (control_row(r[0], dict(json.loads(r[1]))) for r in
                                _rows(conn, "SELECT name, value FROM controls ORDER BY name")),
            })

    def _export_records(self, conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
        for row in _rows(conn, "SELECT * FROM txs ORDER BY hash"):
            yield record_row(self._load(conn, row, with_parties=True))

    @writes
    def import_snapshot(self, conn: sqlite3.Connection,
                        collections: Mapping[str, Iterable[dict[str, Any]]]) -> None:
        """One writer operation (its own savepoint): a restore that fails half-way leaves the store
        as it was."""
        for table in ("tx_parties", "signatures", "jobs", "controls", "txs"):
            conn.execute(f"DELETE FROM {table}")
        for row in given(collections, RECORDS):
            record = row_record(row)
            conn.execute(f"INSERT INTO txs ({','.join(_COLUMNS)}) VALUES "
                         f"({','.join('?' * len(_COLUMNS))})",
                         [_to_db(c, getattr(record, c)) for c in _COLUMNS])
            conn.executemany("INSERT INTO signatures (tx_hash, key, signature, added_at) "
                             "VALUES (?,?,?,?)", [(record.hash, s.key, s.signature, s.added_at)
                                                  for s in record.signatures])
            conn.executemany(_INSERT_PARTY, _parties(record))
        conn.executemany(f"INSERT INTO jobs ({','.join(_JOB_COLUMNS)}) "
                         f"VALUES ({','.join('?' * len(_JOB_COLUMNS))})",
                         (_job_values(row_job(row)) for row in given(collections, JOBS)))
        conn.executemany("INSERT INTO controls (name, value) VALUES (?, ?)",
                         ((row["name"], json.dumps(row["value"]))
                          for row in given(collections, CONTROLS)))


@contextlib.contextmanager
def sqlite_copy(path: str, workdir: Path | None = None,
                missing_ok: bool = False) -> Iterator[SqliteStore]:
    """A store over a private copy of the database at ``path``, taken under one read transaction.

    The live file is opened read-only and never created; a missing one gives an empty copy if
    ``missing_ok``.
    """
    with tempfile.TemporaryDirectory(dir=workdir, prefix=".refractor-snapshot-") as tmp:
        copy = str(Path(tmp) / "snapshot.db")
        if Path(path).is_file():
            try:
                with contextlib.closing(sqlite3.connect(sqlite_uri(path, "ro"), uri=True)) as src, \
                        contextlib.closing(sqlite3.connect(copy)) as dst:
                    src.backup(dst)
            except sqlite3.Error as exc:
                raise SnapshotUnavailable(f"cannot copy SQLite database {path}: {exc}") from None
        elif not missing_ok:
            raise SnapshotUnavailable(f"SQLite database {path} does not exist")
        reader = SqliteStore(copy)
        try:
            reader.ensure_schema()  # a database never initialised reads as empty, not as an error
            yield reader
        finally:
            reader.close()
