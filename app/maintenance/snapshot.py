"""Read every store as of one moment, as far as the engine allows.

SQLite: the transaction store and the co-signer store share one database file, which is copied
once under one read transaction (the online backup API) and both stores are exported from the
copy: one snapshot of everything. MongoDB: each store reads its collections in one snapshot
session (replica sets and sharded clusters, 5.0+; a standalone server has none, then each document
is consistent only with itself). The co-signer store is read first: a subscription event created
between the two reads is then either missing with its ``deliver_event`` job (taken after it), or
present with a job that finds nothing more to send, never pending without a job to send it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.maintenance import MaintenanceError
from app.maintenance.archive import COSIGNER_STORE, TX_STORE
from app.store.base import SnapshotUnavailable, TxStore
from app.store.cosigners import CosignerStore
from app.store.cosigners_sqlite import SqliteCosignerStore
from app.store.snapshot import COSIGNER_KINDS, Kind, Row, StoreExport, empty_export
from app.store.sqlite import SqliteStore
from app.store.sqlite import sqlite_copy as _sqlite_copy

__all__ = ["Everything", "SnapshotError", "everything", "sqlite_copy"]


class SnapshotError(MaintenanceError):
    pass


@dataclass
class Everything:
    """Every collection of both stores, as rows; each entry names its store and its kind."""

    engine: str
    consistency: str  # "snapshot" or "per-document"
    parts: list[tuple[str, Kind, Iterator[Row]]]
    note: str | None = None


@contextmanager
def everything(store: TxStore, cosigners: CosignerStore | None, workdir: Path | None = None,
               copy: bool = True) -> Iterator[Everything]:
    """Both stores' collections (``cosigners`` None: its collections are empty); ``workdir``
    holds a temporary copy of a SQLite database (default: system temp). Without ``copy`` each
    SQLite store is read in a read transaction of its own: enough while nothing writes."""
    try:
        with ExitStack() as stack:
            if copy and isinstance(store, SqliteStore) and store.path != ":memory:":
                copied = stack.enter_context(sqlite_copy(store.path, workdir))
                store = copied
                if cosigners is not None:
                    cosigners = SqliteCosignerStore(copied.path)
                    stack.callback(cosigners.close)
                    cosigners.ensure_schema()
                whole = "snapshot"  # one copy taken under one read transaction
            else:
                whole = ""
            co = (stack.enter_context(cosigners.export_snapshot()) if cosigners is not None
                  else empty_export(COSIGNER_KINDS))
            tx = stack.enter_context(store.export_snapshot())
            consistency = whole or ("snapshot" if tx.consistency == co.consistency == "snapshot"
                                    else "per-document")
            parts = _parts(TX_STORE, store.snapshot_kinds, tx)
            parts += _parts(COSIGNER_STORE, COSIGNER_KINDS, co)
            yield Everything(store.engine, consistency, parts, tx.note or co.note)
    except SnapshotUnavailable as exc:
        raise SnapshotError(str(exc)) from None


def _parts(name: str, kinds: tuple[Kind, ...], export: StoreExport) -> list[tuple[str, Kind,
                                                                                   Iterator[Row]]]:
    return [(name, kind, export.collections[kind.name]) for kind in kinds]


@contextmanager
def sqlite_copy(path: str, workdir: Path | None = None,
                missing_ok: bool = False) -> Iterator[SqliteStore]:
    """A store over a private copy of the SQLite database at ``path`` (see the engine's)."""
    try:
        with _sqlite_copy(path, workdir, missing_ok) as copy:
            yield copy
    except SnapshotUnavailable as exc:
        raise SnapshotError(str(exc)) from None
