"""SQLite engine of the co-signer store, in the same database file as the records.

Its writes go through a ``SqliteWriter`` (app/store/sqlite_writer.py), the records' own when the
app is assembled: one writer thread per process and file, so co-signer writes join the records'
group commits (``synchronous`` as configured) instead of competing with them for SQLite's write
lock on connections of their own. Reads use per-thread connections, as the records' do.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from app.store.cosigners import EventDelivery, Subscription
from app.store.snapshot import (
    CHALLENGES,
    COSIGNER_KINDS,
    EVENTS,
    QUOTAS,
    SUBSCRIPTIONS,
    Kind,
    StoreExport,
    challenge_row,
    event_row,
    given,
    quota_row,
    row_event,
    row_subscription,
    subscription_row,
)
from app.store.sqlite import check_synchronous
from app.store.sqlite_connections import ThreadConnections, read_transaction
from app.store.sqlite_connections import rows as _rows
from app.store.sqlite_outages import outages_unavailable
from app.store.sqlite_writer import SqliteWriter, writes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS auth_challenges (
  id TEXT PRIMARY KEY,
  expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS auth_challenges_expiry ON auth_challenges(expires_at);
CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS subscriptions_account ON subscriptions(account, created_at);
CREATE TABLE IF NOT EXISTS subscription_events (
  id TEXT PRIMARY KEY,
  subscription TEXT NOT NULL,
  account TEXT NOT NULL,
  stream TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at REAL NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  log TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS subscription_events_stream
  ON subscription_events(subscription, stream, status, created_at);
CREATE INDEX IF NOT EXISTS subscription_events_log ON subscription_events(subscription, created_at);
CREATE INDEX IF NOT EXISTS subscription_events_age ON subscription_events(created_at);
CREATE TABLE IF NOT EXISTS event_quota (
  account TEXT NOT NULL,
  slot INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (account, slot)
) WITHOUT ROWID;
"""
_EVENT_COLUMNS = ("id", "subscription", "account", "stream", "type", "payload", "created_at",
                  "status", "attempts", "last_error", "log")


@outages_unavailable
class SqliteCosignerStore:
    def __init__(self, path: str, synchronous: str = "FULL",
                 writer: SqliteWriter | None = None, busy_timeout: float = 30.0) -> None:
        """``writer``: the records store's writer on the same file (shared, not closed here);
        without one (maintenance tools, tests) the store has its own, which takes turns with any
        other writer on the file through the same lock file."""
        self.path = path
        self.synchronous = check_synchronous(synchronous)
        self._connections = ThreadConnections(path, self.synchronous, busy_timeout=busy_timeout)
        self._own_writer = writer is None
        self._writer = writer if writer is not None else SqliteWriter(
            self._conn, name="refractor-sqlite-cosigner-writer",
            lock_path=None if path == ":memory:" else path + "-writer-lock")

    @property
    def writer(self) -> SqliteWriter:
        return self._writer

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def ensure_schema(self) -> None:
        self._conn().executescript(_SCHEMA)

    def close(self) -> None:
        if self._own_writer:
            self._writer.close()
        self._connections.close()

    @writes
    def use_challenge(self, conn: sqlite3.Connection, challenge_id: str, expires_at: float,
                      now: float) -> bool:
        conn.execute("DELETE FROM auth_challenges WHERE expires_at < ?", (now,))
        cur = conn.execute("INSERT OR IGNORE INTO auth_challenges (id, expires_at) "
                           "VALUES (?, ?)", (challenge_id, expires_at))
        return cur.rowcount == 1

    @writes
    def add_subscription(self, conn: sqlite3.Connection, subscription: Subscription,
                         limit: int) -> bool:
        # The count and the insert in one writer transaction: no other write slips in between.
        return conn.execute(
            "INSERT INTO subscriptions (id, account, url, events, secret, created_at) "
            "SELECT ?, ?, ?, ?, ?, ? "
            "WHERE (SELECT COUNT(*) FROM subscriptions WHERE account = ?) < ?",
            (subscription.id, subscription.account, subscription.url,
             json.dumps(subscription.events), subscription.secret, subscription.created_at,
             subscription.account, limit)).rowcount == 1

    def subscriptions(self, account: str) -> list[Subscription]:
        return self.subscriptions_for([account])

    def subscriptions_for(self, accounts: list[str]) -> list[Subscription]:
        if not accounts:
            return []
        rows = self._conn().execute(
            "SELECT id, account, url, events, secret, created_at FROM subscriptions WHERE account IN "
            f"({','.join('?' * len(accounts))}) ORDER BY created_at, id", accounts).fetchall()
        return [Subscription(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        r = self._conn().execute("SELECT id, account, url, events, secret, created_at FROM "
                                 "subscriptions WHERE id = ?", (subscription_id,)).fetchone()
        return None if r is None else Subscription(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5])

    @writes
    def delete_subscription(self, conn: sqlite3.Connection, account: str,
                            subscription_id: str) -> bool:
        cur = conn.execute("DELETE FROM subscriptions WHERE id = ? AND account = ?",
                           (subscription_id, account))
        if cur.rowcount == 1:
            conn.execute("DELETE FROM subscription_events WHERE subscription = ?",
                         (subscription_id,))
        return cur.rowcount == 1

    @writes
    def take_quota(self, conn: sqlite3.Connection, account: str, window: int, limit: int) -> bool:
        conn.execute("DELETE FROM event_quota WHERE account = ? AND slot < ?", (account, window))
        cur = conn.execute(
            "INSERT INTO event_quota (account, slot, n) VALUES (?, ?, 1) "
            "ON CONFLICT (account, slot) DO UPDATE SET n = n + 1 WHERE n < ?",
            (account, window, limit))
        return cur.rowcount == 1

    @writes
    def add_event(self, conn: sqlite3.Connection, event: EventDelivery) -> None:
        conn.execute(
            # An entry is written once: a retried job that raised it writes it again.
            f"INSERT OR IGNORE INTO subscription_events ({','.join(_EVENT_COLUMNS)}) "
            f"VALUES ({','.join('?' * len(_EVENT_COLUMNS))})", _event_values(event))

    def pending_events(self, subscription_id: str, stream: str) -> list[EventDelivery]:
        rows = self._conn().execute(
            f"SELECT {','.join(_EVENT_COLUMNS)} FROM subscription_events WHERE subscription = ? "
            "AND stream = ? AND status = 'pending' ORDER BY created_at, rowid",
            (subscription_id, stream)).fetchall()
        return [_event(r) for r in rows]

    @writes
    def finish_event(self, conn: sqlite3.Connection, event_id: str, status: str,
                     entry: dict[str, Any], error: str | None) -> None:
        conn.execute(
            "UPDATE subscription_events SET status = ?, attempts = attempts + 1, last_error = ?, "
            "log = json_insert(log, '$[#]', json(?)) WHERE id = ?",
            (status, error, json.dumps(entry), event_id))

    def events(self, subscription_id: str, limit: int) -> list[EventDelivery]:
        rows = self._conn().execute(
            f"SELECT {','.join(_EVENT_COLUMNS)} FROM subscription_events WHERE subscription = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT ?", (subscription_id, limit)).fetchall()
        return [_event(r) for r in rows]

    @writes
    def delete_events_before(self, conn: sqlite3.Connection, cutoff: float) -> int:
        return conn.execute(
            "DELETE FROM subscription_events WHERE created_at < ? AND status != 'pending'",
            (cutoff,)).rowcount

    # -- snapshots (backups and restores): every table, whole --

    snapshot_kinds: tuple[Kind, ...] = COSIGNER_KINDS

    @contextlib.contextmanager
    def export_snapshot(self) -> Iterator[StoreExport]:
        """Every table read in one read transaction on a connection of its own."""
        with read_transaction(self._connections) as (conn, own):
            yield StoreExport("snapshot" if own else "per-document", {
                CHALLENGES.name: (challenge_row(r[0], r[1]) for r in _rows(
                    conn, "SELECT id, expires_at FROM auth_challenges ORDER BY id")),
                SUBSCRIPTIONS.name: (subscription_row(_subscription(r)) for r in _rows(
                    conn, f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions ORDER BY id")),
                EVENTS.name: (event_row(_event(r)) for r in _rows(
                    conn, f"SELECT {','.join(_EVENT_COLUMNS)} FROM subscription_events ORDER BY id")),
                QUOTAS.name: (quota_row(r[0], r[1], r[2]) for r in _rows(
                    conn, "SELECT account, slot, n FROM event_quota ORDER BY account, slot")),
            })

    @writes
    def import_snapshot(self, conn: sqlite3.Connection,
                        collections: Mapping[str, Iterable[dict[str, Any]]]) -> None:
        """One writer operation (its own savepoint): all or nothing."""
        for table in ("auth_challenges", "subscriptions", "subscription_events", "event_quota"):
            conn.execute(f"DELETE FROM {table}")
        conn.executemany("INSERT INTO auth_challenges (id, expires_at) VALUES (?, ?)",
                         ((r["id"], r["expires_at"]) for r in given(collections, CHALLENGES)))
        conn.executemany(
            f"INSERT INTO subscriptions ({_SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            ((s.id, s.account, s.url, json.dumps(s.events), s.secret, s.created_at)
             for s in map(row_subscription, given(collections, SUBSCRIPTIONS))))
        conn.executemany(
            f"INSERT INTO subscription_events ({','.join(_EVENT_COLUMNS)}) "
            f"VALUES ({','.join('?' * len(_EVENT_COLUMNS))})",
            (_event_values(e) for e in map(row_event, given(collections, EVENTS))))
        conn.executemany("INSERT INTO event_quota (account, slot, n) VALUES (?, ?, ?)",
                         ((r["account"], r["slot"], r["n"]) for r in given(collections, QUOTAS)))


_SUBSCRIPTION_COLUMNS = "id, account, url, events, secret, created_at"


def _subscription(r: Any) -> Subscription:
    return Subscription(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5])


def _event_values(event: EventDelivery) -> tuple[Any, ...]:
    return (event.id, event.subscription, event.account, event.stream, event.type,
            json.dumps(event.payload), event.created_at, event.status, event.attempts,
            event.last_error, json.dumps(event.log))


def _event(r: Any) -> EventDelivery:
    return EventDelivery(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8], r[9],
                         json.loads(r[10]))
