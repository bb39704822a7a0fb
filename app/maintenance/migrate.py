"""``refractor migrate``: import an original Refractor's records, or copy between our own engines.

Re-runnable: a record whose hash the target already holds is skipped and never overwritten, so an
interrupted import is finished by running it again, and a second run reports everything skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from app.maintenance import MaintenanceError
from app.maintenance.original import InvalidOriginal, convert
from app.maintenance.snapshot import everything
from app.settings import NetworkSettings
from app.store.base import TxStore
from app.store.snapshot import RECORDS, row_record
from app.txs.model import TxRecord

ORIGINAL_COLLECTION = "tx"


@dataclass
class Item:
    """One source record: a record to import, or the reason it cannot be."""

    hash: str
    record: TxRecord | None
    problem: str | None = None
    warnings: list[str] = field(default_factory=list)


class Target(Protocol):
    def exists(self, tx_hash: str) -> bool: ...

    def write(self, record: TxRecord) -> bool:
        """Store the record unless its hash is taken; False if it was."""


class StoreTarget:
    def __init__(self, store: TxStore) -> None:
        self.store = store

    def exists(self, tx_hash: str) -> bool:
        return self.store.get(tx_hash, by_inner=False) is not None

    def write(self, record: TxRecord) -> bool:
        # insert() claims the hash atomically, so a POST of the same transaction racing the import
        # keeps its own record; restore() then writes the signatures and every field as given.
        if not self.store.insert(replace(record, signatures=[], sig_count=0)):
            return False
        self.store.restore(record)
        return True


@dataclass
class Report:
    source: str
    dry_run: bool
    imported: int = 0  # or, in a dry run, would be imported
    skipped: int = 0
    invalid: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"source: {self.source}"]
        if self.dry_run:
            out.append("dry run: nothing was written")
        out.append(f"{'would import' if self.dry_run else 'imported'}: {self.imported}")
        out.append(f"skipped (already present): {self.skipped}")
        out.append(f"invalid: {len(self.invalid)}")
        out += [f"  - {tx_hash}: {reason}" for tx_hash, reason in self.invalid]
        if self.warnings:
            out.append(f"warnings: {len(self.warnings)}")
            out += [f"  - {tx_hash}: {text}" for tx_hash, text in self.warnings]
        return out


def run(source: str, items: Iterable[Item], target: Target, dry_run: bool) -> Report:
    report = Report(source, dry_run)
    seen: set[str] = set()  # a dry run writes nothing, so repeats within the source count here
    for item in items:
        if item.record is None:
            report.invalid.append((item.hash, item.problem or "invalid"))
            continue
        if item.hash in seen or target.exists(item.hash):
            report.skipped += 1
            continue
        seen.add(item.hash)
        if not dry_run and not target.write(item.record):
            report.skipped += 1
            continue
        report.imported += 1
        report.warnings += [(item.hash, text) for text in item.warnings]
    return report


def from_original(docs: Iterable[tuple[str, object]], networks: Mapping[str, NetworkSettings],
                  now: float) -> Iterator[Item]:
    for tx_hash, doc in docs:
        try:
            converted = convert(tx_hash, doc, networks, now)
        except InvalidOriginal as exc:
            yield Item(tx_hash, None, str(exc))
        except Exception as exc:  # one odd document must not stop the import of all the others
            yield Item(tx_hash, None, f"cannot be read ({type(exc).__name__}: {exc})")
        else:
            yield Item(converted.record.hash, converted.record, warnings=converted.warnings)


@contextmanager
def original_mongo(uri: str) -> Iterator[tuple[str, Iterator[tuple[str, object]]]]:
    """The original's ``tx`` documents (database from the URI, else "refractor"), by hash."""
    from pymongo import ASCENDING, MongoClient

    client: MongoClient[dict[str, Any]] = MongoClient(
        uri, appname="refractor-migrate", serverSelectionTimeoutMS=5000, connectTimeoutMS=5000)
    try:
        collection = client.get_default_database(default="refractor")[ORIGINAL_COLLECTION]
        label = (f"original Refractor MongoDB (database {collection.database.name!r}, "
                 f"collection {ORIGINAL_COLLECTION!r})")
        docs = ((str(doc.get("_id")), doc) for doc in collection.find({}).sort("_id", ASCENDING))
        yield label, docs
    finally:
        client.close()


def original_file(path: Path) -> tuple[str, Iterator[tuple[str, object]]]:
    """The original file storage's data.json: an object keyed by hash."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MaintenanceError(f"{path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise MaintenanceError(f"{path} is not a readable JSON file: {exc}") from None
    if not isinstance(data, dict):
        raise MaintenanceError(f"{path} must hold a JSON object keyed by transaction hash")
    return f"original Refractor file storage ({path})", iter(data.items())


@contextmanager
def other_store(store: TxStore, label: str) -> Iterator[tuple[str, Iterator[Item]]]:
    """Every record of another of our stores, copied as it is (a consistent snapshot if possible)."""
    with everything(store, None) as snap:
        [records] = [rows for _, kind, rows in snap.parts if kind is RECORDS]
        yield label, (Item(str(row["hash"]), row_record(row)) for row in records)
