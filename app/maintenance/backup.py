"""``refractor backup``: every collection of every store in one verifiable archive.

The archive (format 3, app.maintenance.archive and docs/operations.md) holds ``manifest.json``,
then one JSON Lines file per collection, each row exactly as the store exported it
(app.store.snapshot). The manifest has each file's store, count, size, sha256 and a digest of its
logical content. It is built in a private temporary directory next to the target and renamed into
place, so a crash never leaves a half-written file under the final name.
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
from app.maintenance.archive import DIGEST_METHOD, FORMAT, FORMAT_VERSION, MANIFEST_NAME, Stats
from app.maintenance.snapshot import everything
from app.store.base import TxStore
from app.store.cosigners import CosignerStore
from app.store.snapshot import RECORDS, Kind, Row, row_digest


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
    """Write the archive of every collection in ``store`` and ``cosigners`` to ``output`` (mode
    0600, atomically)."""
    output = output.absolute()
    if output.is_dir():
        raise MaintenanceError(f"{output} is a directory; name the archive file")
    try:
        output.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".refractor-backup-") as tmp:
            entries: dict[str, dict[str, Any]] = {}
            with everything(store, cosigners, Path(tmp)) as snap:
                for store_name, kind, rows in snap.parts:
                    entries[kind.name] = {"store": store_name, **_write(kind, rows, Path(tmp))}
            manifest = _manifest(entries, snap.engine, snap.consistency)
            archive = Path(tmp) / "archive.tar.gz"
            _write_archive(archive, manifest, Path(tmp))
            os.replace(archive, output)
    except OSError as exc:
        raise MaintenanceError(f"cannot write {output}: {exc.strerror or exc}") from None
    _fsync_dir(output.parent)
    return BackupResult(output, manifest, snap.note)


def _private(path: Path) -> IO[bytes]:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def line_stats(stats: Stats, kind: Kind, row: Row, line: bytes) -> None:
    """Count one row of ``kind`` (written or read back as ``line``)."""
    stats.add(line, kind.key(row), row_digest(row),
              kind.status(row) if kind.status is not None else None,
              len(row["signatures"]) if kind is RECORDS else 0)


def _write(kind: Kind, rows: Iterable[Row], workdir: Path) -> dict[str, Any]:
    stats = Stats()
    with _private(workdir / kind.file) as out:
        for row in rows:
            try:
                line = (json.dumps(row, separators=(",", ":"), allow_nan=False) + "\n").encode()
            except (TypeError, ValueError) as exc:
                raise MaintenanceError(f"{kind.name} row {kind.key(row)} cannot be written as "
                                       f"JSON: {exc}") from None
            out.write(line)
            line_stats(stats, kind, row, line)
    return stats.entry(kind.file, kind.status is not None, kind is RECORDS)


def _manifest(entries: dict[str, dict[str, Any]], engine: str, consistency: str) -> dict[str, Any]:
    records = entries[RECORDS.name]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "app_version": __version__,
        "source_engine": engine,
        "consistency": consistency,
        # Summary for people reading the manifest; the per-collection entries are what is checked.
        "record_count": records["count"],
        "signature_count": records["signatures"],
        "counts_by_status": records["counts_by_status"],
        "collections": entries,
        "digest_method": DIGEST_METHOD,
    }


def _write_archive(path: Path, manifest: dict[str, Any], workdir: Path) -> None:
    mtime = int(datetime.now(UTC).timestamp())
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
    with _private(path) as raw:
        with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(_member(MANIFEST_NAME, len(manifest_bytes), mtime), io.BytesIO(manifest_bytes))
            for entry in manifest["collections"].values():
                part = workdir / entry["file"]
                with part.open("rb") as data:
                    tar.addfile(_member(entry["file"], part.stat().st_size, mtime), data)
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
