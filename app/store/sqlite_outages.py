"""Which SQLite errors are an outage (``StoreUnavailable``, a 503 with ``Retry-After``).

A condition of the machine, not of the request: the write lock held past ``sqliteBusyTimeout`` by
another process (a backup, a maintenance command, a stuck writer), a disk that is full or failing,
a database file that cannot be opened (its directory gone; the writer tries again by itself).
The request may succeed if tried again, and nothing of it was committed. A bad statement, a
constraint nobody handles or a closed store stays what it is (a 500 with its traceback).
The cause logged is SQLite's error name only: its messages can name no path or SQL, but a
future one might.
"""

from __future__ import annotations

import sqlite3

from app.errors import StoreUnavailable
from app.store.outages import outage_guard
from app.store.sqlite_writer import WriterUnavailable

# Primary result codes (the low byte of an extended code such as SQLITE_IOERR_WRITE).
_TRANSIENT_CODES = frozenset({
    sqlite3.SQLITE_BUSY,    # the write lock is held by another connection past the busy timeout
    sqlite3.SQLITE_LOCKED,  # a table locked within a shared cache
    sqlite3.SQLITE_FULL,    # the disk (or max_page_count) is full
    sqlite3.SQLITE_IOERR,   # the operating system failed a read, write or fsync
    sqlite3.SQLITE_CANTOPEN,  # the file cannot be opened (its directory gone, no descriptors)
})


def is_outage(exc: BaseException) -> bool:
    if isinstance(exc, WriterUnavailable):  # whatever stopped it opening the file
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and isinstance(code, int) and (
        code & 0xFF) in _TRANSIENT_CODES


def _translate(exc: Exception) -> StoreUnavailable | None:
    if not is_outage(exc):
        return None
    return StoreUnavailable(f"SQLite {getattr(exc, 'sqlite_errorname', 'error')}")


# Class decorator: every public method raises StoreUnavailable for an outage.
outages_unavailable = outage_guard(_translate)
