"""Read every collection of a live store as of one moment, as far as the engine allows.

Each engine takes its own snapshot (``TxStore.snapshot``): SQLite copies the database under one
read transaction with the online backup API; MongoDB reads in a snapshot session where the server
supports it, else record by record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.maintenance import MaintenanceError
from app.store.base import Snapshot, SnapshotUnavailable, TxStore
from app.store.sqlite import SqliteStore
from app.store.sqlite import sqlite_copy as _sqlite_copy

__all__ = ["Snapshot", "SnapshotError", "engine_name", "snapshot", "sqlite_copy"]


class SnapshotError(MaintenanceError):
    pass


def engine_name(store: TxStore) -> str:
    return store.engine


@contextmanager
def snapshot(store: TxStore, workdir: Path | None = None) -> Iterator[Snapshot]:
    """Every collection of ``store``; ``workdir`` holds a temporary copy (default: system temp)."""
    try:
        with store.snapshot(workdir) as snap:
            yield snap
    except SnapshotUnavailable as exc:
        raise SnapshotError(str(exc)) from None


@contextmanager
def sqlite_copy(path: str, workdir: Path | None = None,
                missing_ok: bool = False) -> Iterator[SqliteStore]:
    """A store over a private copy of the SQLite database at ``path`` (see the engine's)."""
    try:
        with _sqlite_copy(path, workdir, missing_ok) as copy:
            yield copy
    except SnapshotUnavailable as exc:
        raise SnapshotError(str(exc)) from None
