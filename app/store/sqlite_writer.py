"""The one thread of a process that writes to a SQLite database: group commit.

Request handlers and worker threads hand it write operations (functions of the write connection)
and wait for their results. It runs whatever is queued in ONE transaction, each operation inside its
own savepoint, and commits once: under load a single fsync acknowledges many writes, which is what
makes ``synchronous=FULL`` affordable. An operation that raises is rolled back to its savepoint and
gets its own error; its batch neighbours are committed. A result is handed back only after the
commit, so an acknowledged write is on disk.

Reads do not come here: they use per-thread connections (WAL readers never wait for the writer).

If the writer cannot open its connection (the database's directory gone, out of file descriptors),
the writes queued meanwhile fail at once with ``WriterUnavailable`` (a 503 at the store's boundary)
and it tries again at the first write after a back-off, so a database that comes back is written
again without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

T = TypeVar("T")
P = ParamSpec("P")
MAX_BATCH = 256  # operations per transaction: bounds how long one commit keeps the others waiting
# Seconds between tries to open the connection after a failure: doubling up to the Retry-After the
# refused writes get (app/errors.py), so a client retrying then finds the database tried again.
REOPEN_FIRST = 0.1
REOPEN_MAX = 5.0


class WriterClosed(sqlite3.ProgrammingError):
    """The store was closed; no more writes are taken."""


class WriterUnavailable(sqlite3.OperationalError):
    """The writer could not open its connection (its last try, chained as the cause, failed):
    the write was not attempted. Carries the cause's SQLite error code and name."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__("the database cannot be opened for writing")
        self.sqlite_errorcode = getattr(cause, "sqlite_errorcode", sqlite3.SQLITE_CANTOPEN)
        self.sqlite_errorname = getattr(cause, "sqlite_errorname", type(cause).__name__)


@dataclass(slots=True)
class _Op:
    run: Callable[[sqlite3.Connection], Any]
    future: Future[Any]


class SqliteWriter:
    """Started on the first write; ``connect`` is called on the writer's own thread.

    With ``lock_path``, the writers of every process on the database take turns through an
    exclusive ``flock`` on that file around each transaction: the kernel hands the lock straight
    to the next waiter, where SQLite's busy handler would poll with sleeps of up to 100 ms. If the
    file cannot be opened, SQLite's own locking (busy_timeout) is all there is.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], name: str = "refractor-sqlite-writer",
                 max_batch: int = MAX_BATCH, lock_path: str | None = None) -> None:
        self._connect = connect
        self._lock_path = lock_path
        self._lock_fd: int | None = None
        self._name = name
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._open_error: BaseException | None = None  # of the last try to open, while failing
        self._reopen_at = 0.0  # monotonic time of the next try
        self._reopen_delay = REOPEN_FIRST
        self._closed = False
        self.batches = 0  # transactions committed, and the operations in them (tests, benchmarks)
        self.operations = 0

    def run(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` in the writer's next transaction and return its result once committed."""
        if threading.current_thread() is self._thread:
            return self._nested(op)
        return self.submit(op).result()

    async def run_async(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """``run`` for coroutines: the event loop waits on the future, never on SQLite."""
        return await asyncio.wrap_future(self.submit(op))

    def submit(self, op: Callable[[sqlite3.Connection], T]) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise WriterClosed("the store is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._queue.put(_Op(op, future))
        return future

    def close(self) -> None:
        """Commit what is queued, then stop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # -- the writer thread --

    def _nested(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """An operation that writes through another store method: same transaction, own savepoint."""
        assert self._conn is not None
        conn = self._conn
        conn.execute("SAVEPOINT nested")
        try:
            result = op(conn)
        except BaseException:
            conn.execute("ROLLBACK TO nested")
            conn.execute("RELEASE nested")
            raise
        conn.execute("RELEASE nested")
        return result

    def _loop(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            conn = self._open()
            if conn is None:
                self._refuse(batch)
            else:
                self._commit(conn, batch)
        self._conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _open(self) -> sqlite3.Connection | None:
        """The write connection; None while it cannot be opened (tried again after a back-off,
        the writes in between refused without a try)."""
        if self._conn is not None:
            return self._conn
        now = time.monotonic()
        if now < self._reopen_at:
            return None
        try:
            conn = self._connect()
        except Exception as exc:
            self._open_error = exc
            self._reopen_at = now + self._reopen_delay
            self._reopen_delay = min(self._reopen_delay * 2, REOPEN_MAX)
            return None
        self._conn, self._open_error, self._reopen_delay = conn, None, REOPEN_FIRST
        if self._lock_path is not None:
            try:  # read-only is enough for flock, and works on a file another user created
                self._lock_fd = os.open(self._lock_path, os.O_RDONLY | os.O_CREAT, 0o644)
            except OSError:
                self._lock_fd = None
        return conn

    def _refuse(self, batch: list[_Op]) -> None:
        assert self._open_error is not None
        for op in batch:
            if op.future.set_running_or_notify_cancel():
                error = WriterUnavailable(self._open_error)
                error.__cause__ = self._open_error
                op.future.set_exception(error)

    def _commit(self, conn: sqlite3.Connection, batch: list[_Op]) -> None:
        live = [op for op in batch if op.future.set_running_or_notify_cancel()]
        if not live:
            return
        outcomes: list[tuple[bool, Any]] = []
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)  # blocks this thread only (GIL released)
        try:
            conn.execute("BEGIN IMMEDIATE")
            for op in live:
                outcomes.append(self._one(conn, op))
            conn.execute("COMMIT")
        except BaseException as exc:
            # Nothing of this batch is on disk: every operation in it gets the error.
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            for op in live:
                op.future.set_exception(exc)
            return
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        self.batches += 1
        self.operations += len(live)
        for op, (ok, value) in zip(live, outcomes, strict=True):
            if ok:
                op.future.set_result(value)
            else:
                op.future.set_exception(value)

    @staticmethod
    def _one(conn: sqlite3.Connection, op: _Op) -> tuple[bool, Any]:
        conn.execute("SAVEPOINT op")
        try:
            value = op.run(conn)
        except Exception as exc:
            if not conn.in_transaction:
                raise  # SQLite rolled the whole transaction back: the batch fails together
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            return False, exc
        conn.execute("RELEASE op")
        return True, value


class _Writes(Protocol):
    @property
    def writer(self) -> SqliteWriter: ...


S = TypeVar("S", bound=_Writes)


def writes(method: Callable[Concatenate[S, sqlite3.Connection, P], T]) -> Callable[Concatenate[S, P], T]:
    """The one way a store writes: the method runs on ``self.writer``'s thread, in its next group
    commit (inside its own savepoint), and gets the write connection after ``self``; callers call
    it without one and get its result once committed. A write method that calls another runs it in
    the same transaction (a nested savepoint)."""

    @functools.wraps(method)
    def submitted(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.writer.run(lambda conn: method(self, conn, *args, **kwargs))

    return submitted
