"""Read every collection of a live store as of one moment, as far as the engine allows.

SQLite: the online backup API copies the database under one read transaction into a private file,
which is then read at leisure while the service keeps writing. MongoDB: a snapshot session (replica
sets and sharded clusters, 5.0+); a standalone server cannot do that, so its records are read
plainly and each one is consistent only with itself.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import ASCENDING
from pymongo.client_session import ClientSession
from pymongo.cursor import Cursor
from pymongo.errors import ConfigurationError, InvalidOperation, OperationFailure

from app.maintenance import MaintenanceError
from app.store.base import TxStore
from app.store.mongo import MongoStore
from app.store.mongo import _delivery as mongo_delivery  # the engine's own readers: formats
from app.store.mongo import _record as mongo_record  # never drift
from app.store.sqlite import SqliteStore
from app.txs.model import Delivery, TxRecord


class SnapshotError(MaintenanceError):
    pass


@dataclass
class Snapshot:
    engine: str
    consistency: str  # "snapshot" or "per-record"
    records: Iterator[TxRecord]
    deliveries: Callable[[], Iterator[Delivery]]  # read after the records, in the same snapshot
    controls: Callable[[], dict[str, dict[str, Any]]]
    note: str | None = None


def _plain(store: TxStore, engine: str, note: str | None = None) -> Snapshot:
    return Snapshot(engine, "per-record", store.iter_all(), store.iter_deliveries, store.all_controls,
                    note=note)


def engine_name(store: TxStore) -> str:
    if isinstance(store, SqliteStore):
        return "sqlite"
    if isinstance(store, MongoStore):
        return "mongodb"
    return type(store).__name__


@contextmanager
def snapshot(store: TxStore, workdir: Path | None = None) -> Iterator[Snapshot]:
    """Every record of ``store``; ``workdir`` holds the SQLite copy (default: system temp)."""
    if isinstance(store, SqliteStore) and store.path != ":memory:":
        with sqlite_copy(store.path, workdir) as copy:
            yield Snapshot("sqlite", "snapshot", copy.iter_all(), copy.iter_deliveries,
                           copy.all_controls)
    elif isinstance(store, MongoStore):
        with _mongo_snapshot(store) as snap:
            yield snap
    else:
        yield _plain(store, engine_name(store))


def sqlite_uri(path: str, mode: str) -> str:
    """A URI that opens an existing file only (plain connect would create a missing database)."""
    return Path(path).resolve().as_uri() + f"?mode={mode}"


@contextmanager
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
                with closing(sqlite3.connect(sqlite_uri(path, "ro"), uri=True)) as src, \
                        closing(sqlite3.connect(copy)) as dst:
                    src.backup(dst)
            except sqlite3.Error as exc:
                raise SnapshotError(f"cannot copy SQLite database {path}: {exc}") from None
        elif not missing_ok:
            raise SnapshotError(f"SQLite database {path} does not exist")
        reader = SqliteStore(copy)
        try:
            reader.ensure_schema()  # a database never initialised reads as empty, not as an error
            yield reader
        finally:
            reader.close()


@contextmanager
def _mongo_snapshot(store: MongoStore) -> Iterator[Snapshot]:
    client = store.txs.database.client
    session: ClientSession | None = None
    try:
        session = client.start_session(snapshot=True)
        cursor = store.txs.find({}, session=session).sort("_id", ASCENDING)
        # The first batch is where a server without snapshot reads says so.
        first = next(cursor, None)
    except (OperationFailure, ConfigurationError, InvalidOperation) as exc:
        if session is not None:
            session.end_session()
        yield _plain(store, "mongodb",
                     note=f"MongoDB snapshot reads are unavailable ({exc}); read without one")
        return

    def deliveries() -> Iterator[Delivery]:
        for doc in store.deliveries_.find({}, session=session).sort("_id", ASCENDING):
            yield mongo_delivery(doc)

    def controls() -> dict[str, dict[str, Any]]:
        return {d["_id"]: dict(d.get("value") or {})
                for d in store.controls.find({}, session=session).sort("_id", ASCENDING)}

    try:
        yield Snapshot("mongodb", "snapshot", _mongo_records(first, cursor), deliveries, controls)
    finally:
        cursor.close()
        session.end_session()


def _mongo_records(first: dict[str, Any] | None,
                   cursor: Cursor[dict[str, Any]]) -> Iterator[TxRecord]:
    if first is None:
        return
    yield mongo_record(first)
    for doc in cursor:
        yield mongo_record(doc)
