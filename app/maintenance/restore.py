"""``refractor restore``: check an archive completely, then replace every store's contents with
it, then read everything back.

Nothing touches a store until every file's checksum, counts and per-row digests agree with the
manifest, so a corrupt or truncated file leaves the target exactly as it was. A restore is a point
in time: whatever is not in the backup is gone afterwards. With ``safety_backup`` the current
contents are written there first. Archives of formats 1 and 2 restore too (app.maintenance.legacy).
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from app.maintenance import MaintenanceError
from app.maintenance.archive import (
    COSIGNER_STORE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST_NAME,
    TX_STORE,
    Stats,
)
from app.maintenance.backup import line_stats, write_backup
from app.maintenance.legacy import LEGACY_FILES, LegacyFile, files_of, v1_manifest
from app.maintenance.snapshot import everything
from app.store.base import TxStore
from app.store.cosigners import CosignerStore
from app.store.snapshot import COSIGNER_KINDS, KINDS, RECORDS, TX_KINDS, Kind, Row, row_digest

_MANIFEST_LIMIT = 1 << 20
_CHUNK = 1 << 16
_SHOWN = 5  # problems listed before "... and N more"
_ENTRY_TYPES: dict[str, type] = {"file": str, "count": int, "bytes": int, "sha256": str,
                                 "digest": str}
_STORE_OF = {**{k.name: TX_STORE for k in TX_KINDS}, **{k.name: COSIGNER_STORE for k in COSIGNER_KINDS}}


@dataclass
class VerifiedBackup:
    manifest: dict[str, Any]
    paths: dict[str, Path]  # private extracted copies by file name, already checked

    @property
    def version(self) -> int:
        return int(self.manifest["format_version"])

    @property
    def record_count(self) -> int:
        return self.counts()[RECORDS.name]

    @property
    def signature_count(self) -> int:
        return int(self.manifest["collections"]["records"].get("signatures", 0))

    def _legacy(self, kind: Kind) -> LegacyFile | None:
        return next((f for f in files_of(self.version) if f.kind is kind), None)

    def counts(self) -> dict[str, int]:
        """Rows per collection (format 3 names) that a restore writes."""
        entries = self.manifest["collections"]
        if self.version >= 3:
            return {name: int(entries[name]["count"]) for name in KINDS}
        return {name: int(entries[f.name]["count"]) if (f := self._legacy(kind)) and f.name in entries
                else 0 for name, kind in KINDS.items()}

    def rows(self, kind: Kind) -> Iterator[Row]:
        """The collection's rows in format 3's canonical form."""
        if self.version >= 3:
            with self.paths[kind.file].open("rb") as lines:
                for line in lines:
                    yield kind.check(json.loads(line))
            return
        legacy = self._legacy(kind)
        if legacy is None or legacy.file not in self.paths:
            return
        with self.paths[legacy.file].open("rb") as lines:
            for line in lines:
                yield legacy.read(json.loads(line))[1]


@dataclass
class RestoreResult:
    restored: dict[str, int]
    signatures: int
    previously: dict[str, int] = field(default_factory=dict)  # what the target held before
    safety_backup: Path | None = None


@contextmanager
def open_backup(path: Path) -> Iterator[VerifiedBackup]:
    """Extract and fully verify the archive at ``path``; raise MaintenanceError if anything is off."""
    with tempfile.TemporaryDirectory(prefix=".refractor-restore-") as tmp:
        manifest, found = _extract(path, Path(tmp))
        manifest = _check_manifest(manifest)
        backup = VerifiedBackup(manifest, {})
        for name, entry in manifest["collections"].items():
            if entry["file"] not in found:
                raise MaintenanceError(f"{path}: {entry['file']} is missing; not a complete "
                                       f"Refractor backup")
            sha256, size, extracted = found[entry["file"]]
            if size != entry["bytes"] or sha256 != entry["sha256"]:
                raise MaintenanceError(f"{path}: {entry['file']} does not match its checksum in "
                                       f"the manifest (damaged or altered archive)")
            backup.paths[entry["file"]] = extracted
            _check_items(path, backup, name)
        yield backup


def held(store: TxStore, cosigners: CosignerStore | None = None) -> dict[str, int]:
    """How many rows of each collection the stores hold."""
    counts = dict.fromkeys(KINDS, 0)
    with everything(store, cosigners, copy=False) as snap:
        for _, kind, rows in snap.parts:
            counts[kind.name] = sum(1 for _ in rows)
    return counts


def restore_backup(store: TxStore, backup: VerifiedBackup, force: bool = False,
                   safety_backup: Path | None = None,
                   cosigners: CosignerStore | None = None) -> RestoreResult:
    """Replace everything in ``store`` and ``cosigners`` with the backup's contents, then read it
    back."""
    store.ensure_schema()
    if cosigners is not None:
        cosigners.ensure_schema()
    elif any(backup.counts()[k.name] for k in COSIGNER_KINDS):
        raise MaintenanceError("the backup holds co-signer data (subscriptions, events, used "
                               "challenges) but no co-signer store was given to restore them into")
    previously = held(store, cosigners)
    if any(previously.values()) and not force:
        raise MaintenanceError(
            f"the target store is not empty ({_describe(previously)}); restore into an empty "
            f"store, or pass --force to replace its contents with the backup's (whatever is not "
            f"in the backup is deleted)")
    if safety_backup is not None:
        write_backup(store, safety_backup, cosigners)
    done: list[str] = []
    try:
        store.import_snapshot({k.name: backup.rows(k) for k in TX_KINDS})
        done.append("the transaction store")
        if cosigners is not None:
            cosigners.import_snapshot({k.name: backup.rows(k) for k in COSIGNER_KINDS})
    except Exception as exc:
        again = f"restore {safety_backup} with --force" if safety_backup else "run again with --force"
        state = (f"{' and '.join(done)} is restored, the rest may be partly written" if done
                 else "the stores may be partly written")
        raise MaintenanceError(f"restore stopped ({type(exc).__name__}: {exc}); {state}: fix the "
                               f"cause and {again}") from exc
    _read_back(store, backup, cosigners)
    return RestoreResult(backup.counts(), backup.signature_count, previously, safety_backup)


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "nothing"


def _extract(path: Path, workdir: Path) -> tuple[dict[str, Any], dict[str, tuple[str, int, Path]]]:
    """The manifest, and for each data file its sha256, size and extracted copy."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise MaintenanceError(f"cannot read {path}: {exc.strerror or exc}") from None
    allowed = {MANIFEST_NAME, *(k.file for k in KINDS.values()), *(f.file for f in LEGACY_FILES)}
    manifest: bytes | None = None
    found: dict[str, tuple[str, int, Path]] = {}
    try:
        with raw, tarfile.open(fileobj=raw, mode="r|gz") as tar:
            for member in tar:
                if not member.isfile() or member.name not in allowed:
                    raise MaintenanceError(f"{path}: unexpected member {member.name!r}; "
                                           f"not a Refractor backup")
                source = tar.extractfile(member)
                assert source is not None  # regular files always have contents
                if member.name == MANIFEST_NAME and manifest is None:
                    manifest = source.read(_MANIFEST_LIMIT + 1)
                elif member.name != MANIFEST_NAME and member.name not in found:
                    target = workdir / member.name
                    found[member.name] = (*_copy(source, target), target)
                else:
                    raise MaintenanceError(f"{path}: {member.name} appears twice")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise MaintenanceError(f"{path} is not a readable backup archive, it may be corrupt or "
                               f"truncated ({exc})") from None
    if manifest is None:
        raise MaintenanceError(f"{path}: {MANIFEST_NAME} is missing; not a complete Refractor backup")
    if len(manifest) > _MANIFEST_LIMIT:
        raise MaintenanceError(f"{path}: {MANIFEST_NAME} is implausibly large")
    try:
        parsed = json.loads(manifest)
    except ValueError:
        raise MaintenanceError(f"{path}: {MANIFEST_NAME} is not valid JSON") from None
    if not isinstance(parsed, dict):
        raise MaintenanceError(f"{path}: {MANIFEST_NAME} must hold a JSON object")
    return parsed, found


def _copy(source: IO[bytes], target: Path) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    with target.open("xb") as out:
        while chunk := source.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return sha.hexdigest(), size


def _check_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with exactly the collections its format version has, each entry well-formed."""
    if manifest.get("format") != FORMAT:
        raise MaintenanceError("manifest.json does not describe a Refractor backup")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MaintenanceError("manifest.json: format_version is missing or invalid")
    if version > FORMAT_VERSION:
        raise MaintenanceError(f"backup format version {version} is newer than this Refractor "
                               f"reads ({FORMAT_VERSION}); upgrade Refractor first")
    if version == 1:
        manifest = v1_manifest(manifest)
    collections = manifest.get("collections")
    if not isinstance(collections, dict):
        raise MaintenanceError("manifest.json: collections is missing or invalid")
    wanted = ({k.name: k.file for k in KINDS.values()} if version >= 3
              else {f.name: f.file for f in files_of(version)})
    optional = {f.name for f in files_of(version) if f.optional} if version < 3 else set()
    for name, file in wanted.items():
        if name in optional and name not in collections:
            continue
        entry = collections.get(name)
        if not isinstance(entry, dict):
            raise MaintenanceError(f"manifest.json: collection {name} is missing")
        for key, kind in _ENTRY_TYPES.items():
            value = entry.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise MaintenanceError(f"manifest.json: {name}.{key} is missing or invalid")
        if entry["file"] != file:
            raise MaintenanceError(f"manifest.json: {name} must be in {file}")
        if version >= 3 and entry.get("store") != _STORE_OF[name]:
            raise MaintenanceError(f"manifest.json: {name} belongs to the {_STORE_OF[name]} store")
    unknown = sorted(set(collections) - set(wanted))
    if unknown:
        raise MaintenanceError(f"manifest.json: unknown collection(s) {', '.join(unknown)}")
    return manifest


def _check_items(path: Path, backup: VerifiedBackup, name: str) -> None:
    """Every line parses, keys are unique, and counts and digest match the manifest."""
    entry = backup.manifest["collections"][name]
    legacy = next((f for f in files_of(backup.version) if f.name == name), None)
    stats, seen = Stats(), set()
    with backup.paths[entry["file"]].open("rb") as lines:
        for number, line in enumerate(lines, 1):
            try:
                raw = json.loads(line)
                if legacy is None:
                    kind = KINDS[name]
                    row = kind.check(raw)
                    key = kind.key(row)
                    line_stats(stats, kind, row, line)
                else:
                    raw, row = legacy.read(raw)
                    key = str(raw.get(legacy.key))
                    stats.add(line, key, legacy.digest(raw),
                              str(raw.get("status")) if legacy.by_status else None,
                              len(row["signatures"]) if legacy.kind is RECORDS else 0)
            except (ValueError, TypeError, KeyError) as exc:
                raise MaintenanceError(f"{path}: {name} item on line {number} is invalid: "
                                       f"{exc}") from None
            if key in seen:
                raise MaintenanceError(f"{path}: {name} item {key} appears twice")
            seen.add(key)
    found = stats.entry(entry["file"], True, True)
    wrong = [f"{name}.{key}" for key in ("count", "signatures", "counts_by_status", "digest")
             if key in entry and entry[key] != found.get(key)]
    if wrong:
        raise MaintenanceError(f"{path}: the {name} do not match the manifest's "
                               f"{', '.join(wrong)}; nothing was restored")


def _read_back(store: TxStore, backup: VerifiedBackup, cosigners: CosignerStore | None) -> None:
    """The stores hold exactly the backup's rows: none missing, none different, none extra."""
    problems = []
    with everything(store, cosigners, copy=False) as snap:
        for _, kind, rows in snap.parts:
            expected = {kind.key(r): row_digest(r) for r in backup.rows(kind)}
            for row in rows:
                key = kind.key(row)
                want = expected.pop(key, None)
                if want is None:
                    problems.append(f"{kind.name} {key} is not in the backup")
                elif row_digest(row) != want:
                    problems.append(f"{kind.name} {key} differs from the backup")
            problems += [f"{kind.name} {key} is missing" for key in expected]
    if problems:
        more = f" ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise MaintenanceError("read-back verification failed: " + "; ".join(problems[:_SHOWN]) + more)
