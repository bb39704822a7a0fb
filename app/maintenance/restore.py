"""``refractor restore``: check an archive completely, then write it, then read it back.

Nothing touches the store until the archive's checksum, counts and per-record digests all agree with
its manifest, so a corrupt or truncated file leaves the target exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.maintenance import MaintenanceError
from app.maintenance.backup import FORMAT, FORMAT_VERSION, MANIFEST_NAME, RECORDS_NAME, RecordStats
from app.maintenance.records import RecordFormatError, digest, from_json
from app.store.base import TxStore
from app.txs.model import TxRecord

_MANIFEST_LIMIT = 1 << 20
_CHUNK = 1 << 16
_SHOWN = 5  # problems listed before "... and N more"


@dataclass
class VerifiedBackup:
    manifest: dict[str, Any]
    records_path: Path  # a private extracted copy, already checked against the manifest

    @property
    def record_count(self) -> int:
        return int(self.manifest["record_count"])

    @property
    def signature_count(self) -> int:
        return int(self.manifest["signature_count"])

    def records(self) -> Iterator[TxRecord]:
        with self.records_path.open("rb") as lines:
            for line in lines:
                yield from_json(json.loads(line))


@dataclass
class RestoreResult:
    restored: int
    signatures: int
    previously: int  # records the target held before


@contextmanager
def open_backup(path: Path) -> Iterator[VerifiedBackup]:
    """Extract and fully verify the archive at ``path``; raise MaintenanceError if anything is off."""
    with tempfile.TemporaryDirectory(prefix=".refractor-restore-") as tmp:
        records_path = Path(tmp) / RECORDS_NAME
        manifest, sha256, size = _extract(path, records_path)
        _check_manifest(manifest)
        if size != manifest["records_bytes"] or sha256 != manifest["records_sha256"]:
            raise MaintenanceError(f"{path}: {RECORDS_NAME} does not match its checksum in the "
                                   f"manifest (damaged or altered archive)")
        backup = VerifiedBackup(manifest, records_path)
        _check_records(path, backup)
        yield backup


def restore_backup(store: TxStore, backup: VerifiedBackup, force: bool = False) -> RestoreResult:
    """Write every record of a verified backup, then read each one back and compare digests."""
    store.ensure_schema()
    previously = sum(store.count_by_status().values())
    if previously and not force:
        raise MaintenanceError(
            f"the target store already holds {previously} record(s); restore into an empty store, "
            f"or pass --force to write over it (records with the same hash are replaced, "
            f"others are kept)")
    written = 0
    try:
        for record in backup.records():
            store.restore(record)
            written += 1
    except Exception as exc:
        raise MaintenanceError(f"restore stopped after {written} of {backup.record_count} records "
                               f"({type(exc).__name__}: {exc}); the store is partly restored: fix "
                               f"the cause and run again with --force") from exc
    _read_back(store, backup, compare_counts=previously == 0)
    return RestoreResult(written, backup.signature_count, previously)


def _extract(path: Path, records_path: Path) -> tuple[dict[str, Any], str, int]:
    """The manifest, and the sha256 and size of records.jsonl copied to ``records_path``."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise MaintenanceError(f"cannot read {path}: {exc.strerror or exc}") from None
    manifest: bytes | None = None
    found: tuple[str, int] | None = None
    try:
        with raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
            for member in tar:
                if not member.isfile() or member.name not in (MANIFEST_NAME, RECORDS_NAME):
                    raise MaintenanceError(f"{path}: unexpected member {member.name!r}; "
                                           f"not a Refractor backup")
                source = tar.extractfile(member)
                assert source is not None  # regular files always have contents
                if member.name == MANIFEST_NAME and manifest is None:
                    manifest = source.read(_MANIFEST_LIMIT + 1)
                elif member.name == RECORDS_NAME and found is None:
                    found = _copy(source, records_path)
                else:
                    raise MaintenanceError(f"{path}: {member.name} appears twice")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise MaintenanceError(f"{path} is not a readable backup archive, it may be corrupt or "
                               f"truncated ({exc})") from None
    if manifest is None or found is None:
        missing = MANIFEST_NAME if manifest is None else RECORDS_NAME
        raise MaintenanceError(f"{path}: {missing} is missing; not a complete Refractor backup")
    if len(manifest) > _MANIFEST_LIMIT:
        raise MaintenanceError(f"{path}: {MANIFEST_NAME} is implausibly large")
    try:
        parsed = json.loads(manifest)
    except ValueError:
        raise MaintenanceError(f"{path}: {MANIFEST_NAME} is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise MaintenanceError(f"{path}: {MANIFEST_NAME} must hold a JSON object")
    return parsed, found[0], found[1]


def _copy(source: IO[bytes], target: Path) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with target.open("xb") as out:
        while chunk := source.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return sha.hexdigest(), size


_MANIFEST_TYPES: dict[str, type | tuple[type, ...]] = {
    "format_version": int, "record_count": int, "signature_count": int, "counts_by_status": dict,
    "records_bytes": int, "records_sha256": str, "records_digest": str,
}


def _check_manifest(manifest: dict[str, Any]) -> None:
    if manifest.get("format") != FORMAT:
        raise MaintenanceError("manifest.json does not describe a Refractor backup")
    for key, kind in _MANIFEST_TYPES.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool):
            raise MaintenanceError(f"manifest.json: {key} is missing or invalid")
    if manifest["format_version"] > FORMAT_VERSION:
        raise MaintenanceError(f"backup format version {manifest['format_version']} is newer than "
                               f"this Refractor reads ({FORMAT_VERSION}); upgrade Refractor first")


def _check_records(path: Path, backup: VerifiedBackup) -> None:
    """Every line parses, hashes are unique, and counts and digest match the manifest."""
    stats, seen = RecordStats(), set()
    with backup.records_path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            try:
                record = from_json(json.loads(line))
            except (ValueError, RecordFormatError) as exc:
                raise MaintenanceError(f"{path}: record on line {number} is invalid: {exc}") from None
            if record.hash in seen:
                raise MaintenanceError(f"{path}: record {record.hash} appears twice")
            seen.add(record.hash)
            stats.add(record, line)
    manifest = backup.manifest
    found = {"record_count": stats.count, "signature_count": stats.signatures,
             "counts_by_status": dict(stats.by_status), "records_digest": stats.digest.hexdigest()}
    wrong = [key for key, value in found.items() if manifest[key] != value]
    if wrong:
        raise MaintenanceError(f"{path}: the records do not match the manifest's "
                               f"{', '.join(wrong)}; nothing was restored")


def _read_back(store: TxStore, backup: VerifiedBackup, compare_counts: bool) -> None:
    # iter_all() rather than get(): only iter_all() promises sources and signers (SQLite's get()
    # leaves them out), and one scan beats a query per record.
    expected = {r.hash: digest(r) for r in backup.records()}
    problems = []
    for stored in store.iter_all():
        want = expected.pop(stored.hash, None)
        if want is not None and digest(stored) != want:
            problems.append(f"{stored.hash} differs from the backup")
    problems += [f"{tx_hash} is missing" for tx_hash in expected]
    if compare_counts:
        counts = store.count_by_status()
        if counts != backup.manifest["counts_by_status"]:
            problems.append(f"counts by status are {counts}, the backup has "
                            f"{backup.manifest['counts_by_status']}")
    if problems:
        more = f" ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise MaintenanceError("read-back verification failed: " + "; ".join(problems[:_SHOWN]) + more)
