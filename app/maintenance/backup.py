"""``refractor backup``: every record and signature of the store in one verifiable archive.

The archive is a gzip'd tar holding ``manifest.json`` then ``records.jsonl`` (one record per line,
see app.maintenance.records). It is built in a private temporary directory next to the target and
renamed into place, so a crash never leaves a half-written file under the final name.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from app import __version__
from app.maintenance import MaintenanceError
from app.maintenance.records import digest, dumps
from app.maintenance.snapshot import snapshot
from app.store.base import TxStore
from app.txs.model import TxRecord

FORMAT = "refractor-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
RECORDS_NAME = "records.jsonl"
DIGEST_METHOD = ("sha256 over one '<hash> <record digest>\\n' line per record in file order; record "
                 "digest = sha256 of the record's canonical JSON (sorted keys, sources and signers "
                 "as sorted sets)")


@dataclass
class RecordStats:
    """What the manifest says about records.jsonl; computed the same way when writing and checking."""

    count: int = 0
    signatures: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    size: int = 0
    sha256: hashlib._Hash = field(default_factory=hashlib.sha256)  # of the file's bytes
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)  # of the records' logical content

    def add(self, record: TxRecord, line: bytes) -> None:
        self.count += 1
        self.signatures += len(record.signatures)
        self.by_status[record.status.value] += 1
        self.size += len(line)
        self.sha256.update(line)
        self.digest.update(f"{record.hash} {digest(record)}\n".encode())


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    note: str | None


def default_output(now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return Path("var") / "backups" / f"refractor-{stamp}.tar.gz"


def write_backup(store: TxStore, output: Path) -> BackupResult:
    """Write the archive of every record in ``store`` to ``output`` (mode 0600, atomically)."""
    output = output.absolute()
    if output.is_dir():
        raise MaintenanceError(f"{output} is a directory; name the archive file")
    try:
        output.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".refractor-backup-") as tmp:
            records_path = Path(tmp) / RECORDS_NAME
            with snapshot(store, Path(tmp)) as snap, _private(records_path) as out:
                stats = _write_records(snap.records, out)
            manifest = _manifest(stats, snap.engine, snap.consistency)
            archive = Path(tmp) / "archive.tar.gz"
            _write_archive(archive, manifest, records_path)
            os.replace(archive, output)
    except OSError as exc:
        raise MaintenanceError(f"cannot write {output}: {exc.strerror or exc}") from None
    _fsync_dir(output.parent)
    return BackupResult(output, manifest, snap.note)


def _private(path: Path) -> IO[bytes]:
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _write_records(records: Iterable[TxRecord], out: IO[bytes]) -> RecordStats:
    stats = RecordStats()
    for record in records:
        try:
            line = (dumps(record) + "\n").encode()
        except (TypeError, ValueError) as exc:
            raise MaintenanceError(f"record {record.hash} cannot be written as JSON: {exc}") from None
        out.write(line)
        stats.add(record, line)
    return stats


def _manifest(stats: RecordStats, engine: str, consistency: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "app_version": __version__,
        "source_engine": engine,
        "consistency": consistency,
        "record_count": stats.count,
        "signature_count": stats.signatures,
        "counts_by_status": dict(sorted(stats.by_status.items())),
        "records_file": RECORDS_NAME,
        "records_bytes": stats.size,
        "records_sha256": stats.sha256.hexdigest(),
        "records_digest": stats.digest.hexdigest(),
        "records_digest_method": DIGEST_METHOD,
    }


def _write_archive(path: Path, manifest: dict[str, Any], records_path: Path) -> None:
    mtime = int(datetime.now(UTC).timestamp())
    manifest_bytes = (json.dumps(manifest, indent=2) + "\n").encode()
    with _private(path) as raw:
        with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(_member(MANIFEST_NAME, len(manifest_bytes), mtime), io.BytesIO(manifest_bytes))
            with records_path.open("rb") as records:
                tar.addfile(_member(RECORDS_NAME, records_path.stat().st_size, mtime), records)
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
