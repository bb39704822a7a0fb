"""``refractor backup``: every collection of the store in one verifiable archive.

The archive (format version 2, docs/operations.md) is a gzip'd tar holding ``manifest.json``, then
one JSON Lines file per collection: ``records.jsonl`` (transactions with their signatures, see
app.maintenance.records), ``deliveries.jsonl`` (callbacks, pending and done, with their attempt
logs), ``controls.jsonl`` (queue controls and any other control document, such as the schema
version) and ``subscriptions.jsonl`` (co-signers' webhook subscriptions). The manifest has each
file's count, size, sha256 and a digest of its logical content.
It is built in a private temporary directory next to the target and renamed into place, so a crash
never leaves a half-written file under the final name.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from app import __version__
from app.maintenance import MaintenanceError
from app.maintenance.collections import (
    COLLECTIONS,
    CONTROLS,
    DELIVERIES,
    DIGEST_METHOD,
    RECORDS,
    SUBSCRIPTIONS,
    Collection,
    Control,
    Stats,
)
from app.maintenance.snapshot import snapshot
from app.store.base import TxStore
from app.store.cosigners import CosignerStore

FORMAT = "refractor-backup"
FORMAT_VERSION = 2
MANIFEST_NAME = "manifest.json"
RECORDS_NAME = RECORDS.file


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    note: str | None


def default_output(now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("var") / "backups" / f"refractor-{stamp}.tar.gz"


def write_backup(store: TxStore, output: Path,
                 cosigners: CosignerStore | None = None) -> BackupResult:
    """Write the archive of every collection in ``store`` (and the co-signers' webhook
    subscriptions) to ``output`` (mode 0600, atomically)."""
    output = output.absolute()
    if output.is_dir():
        raise MaintenanceError(f"{output} is a directory; name the archive file")
    try:
        output.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".refractor-backup-") as tmp:
            stats: dict[str, Stats] = {}
            with snapshot(store, Path(tmp)) as snap:
                stats[RECORDS.name] = _write(RECORDS, snap.records, Path(tmp))
                stats[DELIVERIES.name] = _write(DELIVERIES, snap.deliveries(), Path(tmp))
                controls = [Control(k, v) for k, v in sorted(snap.controls().items())]
                stats[CONTROLS.name] = _write(CONTROLS, controls, Path(tmp))
            # The co-signer store is read after the snapshot: subscriptions change rarely, and
            # apart from the records (a restore needs no other consistency between them).
            subscriptions = cosigners.all_subscriptions() if cosigners is not None else []
            stats[SUBSCRIPTIONS.name] = _write(SUBSCRIPTIONS, subscriptions, Path(tmp))
            manifest = _manifest(stats, snap.engine, snap.consistency)
            archive = Path(tmp) / "archive.tar.gz"
            _write_archive(archive, manifest, Path(tmp))
            os.replace(archive, output)
    except OSError as exc:
        raise MaintenanceError(f"cannot write {output}: {exc.strerror or exc}") from None
    _fsync_dir(output.parent)
    return BackupResult(output, manifest, snap.note)


def _private(path: Path) -> IO[bytes]:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _write(collection: Collection, items: Iterable[Any], workdir: Path) -> Stats:
    stats = Stats()
    with _private(workdir / collection.file) as out:
        for item in items:
            try:
                line = (json.dumps(collection.to_json(item), separators=(",", ":"),
                                   allow_nan=False) + "\n").encode()
            except (TypeError, ValueError) as exc:
                raise MaintenanceError(f"{collection.name} item {collection.key(item)} cannot be "
                                       f"written as JSON: {exc}") from None
            out.write(line)
            stats.add(collection, item, line)
    return stats


def _manifest(stats: dict[str, Stats], engine: str, consistency: str) -> dict[str, Any]:
    records = stats[RECORDS.name]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "app_version": __version__,
        "source_engine": engine,
        "consistency": consistency,
        # Summary for people reading the manifest; the per-collection entries are what is checked.
        "record_count": records.count,
        "signature_count": records.signatures,
        "counts_by_status": dict(sorted(records.by_status.items())),
        "collections": {c.name: stats[c.name].manifest(c) for c in COLLECTIONS},
        "digest_method": DIGEST_METHOD,
    }


def _write_archive(path: Path, manifest: dict[str, Any], workdir: Path) -> None:
    mtime = int(datetime.now(UTC).timestamp())
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
    with _private(path) as raw:
        with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(_member(MANIFEST_NAME, len(manifest_bytes), mtime), io.BytesIO(manifest_bytes))
            for collection in COLLECTIONS:
                part = workdir / collection.file
                with part.open("rb") as data:
                    tar.addfile(_member(collection.file, part.stat().st_size, mtime), data)
        raw.flush()
        os.fsync(raw.fileno())


def _member(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o600
    return info


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
