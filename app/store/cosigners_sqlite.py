"""SQLite engine of the co-signer store, in the same database file as the records."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from app.store.cosigners import EventDelivery, Subscription
from app.store.sqlite import check_synchronous

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


class SqliteCosignerStore:
    def __init__(self, path: str, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = check_synchronous(synchronous)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def ensure_schema(self) -> None:
        self._conn().executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    def use_challenge(self, challenge_id: str, expires_at: float, now: float) -> bool:
        conn = self._conn()
        conn.execute("DELETE FROM auth_challenges WHERE expires_at < ?", (now,))
        cur = conn.execute("INSERT OR IGNORE INTO auth_challenges (id, expires_at) VALUES (?, ?)",
                           (challenge_id, expires_at))
        return cur.rowcount == 1

    def add_subscription(self, subscription: Subscription, limit: int) -> bool:
        conn = self._conn()
        # IMMEDIATE takes the write lock before the count, so no other writer can slip in between.
        conn.execute("BEGIN IMMEDIATE")
        try:
            cur = conn.execute(
                "INSERT INTO subscriptions (id, account, url, events, secret, created_at) "
                "SELECT ?, ?, ?, ?, ?, ? "
                "WHERE (SELECT COUNT(*) FROM subscriptions WHERE account = ?) < ?",
                (subscription.id, subscription.account, subscription.url,
                 json.dumps(subscription.events), subscription.secret, subscription.created_at,
                 subscription.account, limit))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return cur.rowcount == 1

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

    def delete_subscription(self, account: str, subscription_id: str) -> bool:
        conn = self._conn()
        cur = conn.execute("DELETE FROM subscriptions WHERE id = ? AND account = ?",
                           (subscription_id, account))
        if cur.rowcount == 1:
            conn.execute("DELETE FROM subscription_events WHERE subscription = ?",
                         (subscription_id,))
        return cur.rowcount == 1

    def all_subscriptions(self) -> list[Subscription]:
        try:
            rows = self._conn().execute(
                "SELECT id, account, url, events, secret, created_at FROM subscriptions ORDER BY id"
            ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):  # a database the co-signer features never touched
                return []
            raise
        return [Subscription(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    def replace_subscriptions(self, subscriptions: list[Subscription]) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM subscriptions")
            conn.executemany(
                "INSERT INTO subscriptions (id, account, url, events, secret, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(s.id, s.account, s.url, json.dumps(s.events), s.secret, s.created_at)
                 for s in subscriptions])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def take_quota(self, account: str, window: int, limit: int) -> bool:
        conn = self._conn()
        conn.execute("DELETE FROM event_quota WHERE account = ? AND slot < ?", (account, window))
        cur = conn.execute(
            "INSERT INTO event_quota (account, slot, n) VALUES (?, ?, 1) "
            "ON CONFLICT (account, slot) DO UPDATE SET n = n + 1 WHERE n < ?",
            (account, window, limit))
        return cur.rowcount == 1

    def add_event(self, event: EventDelivery) -> None:
        self._conn().execute(
            f"INSERT INTO subscription_events ({','.join(_EVENT_COLUMNS)}) "
            f"VALUES ({','.join('?' * len(_EVENT_COLUMNS))})",
            (event.id, event.subscription, event.account, event.stream, event.type,
             json.dumps(event.payload), event.created_at, event.status, event.attempts,
             event.last_error, json.dumps(event.log)))

    def pending_events(self, subscription_id: str, stream: str) -> list[EventDelivery]:
        rows = self._conn().execute(
            f"SELECT {','.join(_EVENT_COLUMNS)} FROM subscription_events WHERE subscription = ? "
            "AND stream = ? AND status = 'pending' ORDER BY created_at, rowid",
            (subscription_id, stream)).fetchall()
        return [_event(r) for r in rows]

    def finish_event(self, event_id: str, status: str, entry: dict[str, Any],
                     error: str | None) -> None:
        self._conn().execute(
            "UPDATE subscription_events SET status = ?, attempts = attempts + 1, last_error = ?, "
            "log = json_insert(log, '$[#]', json(?)) WHERE id = ?",
            (status, error, json.dumps(entry), event_id))

    def events(self, subscription_id: str, limit: int) -> list[EventDelivery]:
        rows = self._conn().execute(
            f"SELECT {','.join(_EVENT_COLUMNS)} FROM subscription_events WHERE subscription = ? "
            "ORDER BY created_at DESC, rowid DESC LIMIT ?", (subscription_id, limit)).fetchall()
        return [_event(r) for r in rows]

    def delete_events_before(self, cutoff: float) -> int:
        cur = self._conn().execute("DELETE FROM subscription_events WHERE created_at < ? AND "
                                   "status != 'pending'", (cutoff,))
        return cur.rowcount


def _event(r: Any) -> EventDelivery:
    return EventDelivery(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8], r[9],
                         json.loads(r[10]))
