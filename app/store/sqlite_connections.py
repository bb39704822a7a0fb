"""Connections to one SQLite database file, shared by the stores that live in it (transactions,
co-signers): one connection per thread, the same pragmas, all closed together; and the read
transaction a snapshot export runs in.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path


class ThreadConnections:
    """One connection per thread to ``path``, in WAL mode with ``synchronous`` (a checked PRAGMA
    value); ``setup`` runs on each new connection (the store's own pragmas, row factory).
    ``busy_timeout``: seconds a statement waits for a lock another process holds; then SQLite says
    SQLITE_BUSY, which the stores report as StoreUnavailable (a 503)."""

    def __init__(self, path: str, synchronous: str,
                 setup: Callable[[sqlite3.Connection], None] | None = None,
                 busy_timeout: float = 30.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._setup = setup
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA synchronous={self.synchronous}")
                conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout * 1000)}")
                if self._setup is not None:
                    self._setup(conn)
            except BaseException:
                conn.close()  # the next call tries afresh (the writer's retries, a reader's)
                raise
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def sqlite_uri(path: str, mode: str) -> str:
    """A URI that opens an existing file only (plain connect would create a missing database)."""
    return Path(path).resolve().as_uri() + f"?mode={mode}"


@contextlib.contextmanager
def read_transaction(connections: ThreadConnections) -> Iterator[tuple[sqlite3.Connection, bool]]:
    """A connection of its own holding one read transaction (WAL lets writers go on meanwhile),
    and True; for an in-memory database, which another connection would not see, the thread's
    connection and False (no snapshot promised)."""
    if connections.path == ":memory:":
        yield connections.get(), False
        return
    conn = sqlite3.connect(sqlite_uri(connections.path, "ro"), uri=True, timeout=30,
                           isolation_level=None, check_same_thread=False)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
        yield conn, True
        conn.execute("COMMIT")
    finally:
        conn.close()


def rows(conn: sqlite3.Connection, sql: str) -> Iterator[sqlite3.Row]:
    """Every row of ``sql``; a table this database does not have yet has none."""
    try:
        cursor = conn.execute(sql)
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return
        raise
    while batch := cursor.fetchmany(500):
        yield from batch
