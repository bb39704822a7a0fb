"""``refractor restore``: check an archive completely, then replace the store's contents with it,
then read everything back.

Nothing touches the store until every file's checksum, counts and per-item digests agree with the
manifest, so a corrupt or truncated file leaves the target exactly as it was. A restore is a point
in time: records, deliveries and controls that are not in the backup are gone afterwards. With
``safety_backup`` the current contents are written there first.
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

from app.jobs.kinds import DELIVER_CALLBACK
from app.maintenance import MaintenanceError
from app.maintenance.backup import FORMAT, FORMAT_VERSION, MANIFEST_NAME, write_backup
from app.maintenance.collections import (
    COLLECTIONS,
    CONTROLS,
    DELIVERIES,
    RECORDS,
    SUBSCRIPTIONS,
    Collection,
    Control,
    Stats,
)
from app.maintenance.records import RecordFormatError
from app.store.base import TxStore
from app.store.cosigners import CosignerStore
from app.txs.model import Delivery, TxRecord

_MANIFEST_LIMIT = 1 << 20
_CHUNK = 1 << 16
_SHOWN = 5  # problems listed before "... and N more"
_ENTRY_TYPES: dict[str, type] = {"file": str, "count": int, "bytes": int, "sha256": str,
                                 "digest": str}


@dataclass
class VerifiedBackup:
    manifest: dict[str, Any]
    paths: dict[str, Path]  # private extracted copies, already checked against the manifest

    def entry(self, collection: Collection) -> dict[str, Any]:
        entry: dict[str, Any] = self.manifest["collections"][collection.name]
        return entry

    @property
    def record_count(self) -> int:
        return int(self.entry(RECORDS)["count"])

    @property
    def signature_count(self) -> int:
        return int(self.entry(RECORDS).get("signatures", 0))

    def counts(self) -> dict[str, int]:
        entries = self.manifest["collections"]
        return {c.name: int(entries.get(c.name, {}).get("count", 0)) for c in COLLECTIONS}

    def items(self, collection: Collection) -> Iterator[Any]:
        path = self.paths.get(collection.name)
        if path is None:  # a format 1 archive: records only
            return
        with path.open("rb") as lines:
            for line in lines:
                yield collection.from_json(json.loads(line))

    def records(self) -> Iterator[TxRecord]:
        return self.items(RECORDS)


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
        for collection in COLLECTIONS:
            entry = manifest["collections"].get(collection.name)
            if entry is None:
                continue
            if entry["file"] not in found:
                raise MaintenanceError(f"{path}: {entry['file']} is missing; not a complete "
                                       f"Refractor backup")
            sha256, size, extracted = found[entry["file"]]
            if size != entry["bytes"] or sha256 != entry["sha256"]:
                raise MaintenanceError(f"{path}: {entry['file']} does not match its checksum in "
                                       f"the manifest (damaged or altered archive)")
            backup.paths[collection.name] = extracted
            _check_items(path, backup, collection)
        yield backup


def held(store: TxStore, cosigners: CosignerStore | None = None) -> dict[str, int]:
    """How many items of each collection ``store`` (and ``cosigners``) holds."""
    return {RECORDS.name: sum(store.count_by_status().values()),
            DELIVERIES.name: sum(store.jobs.counts(DELIVER_CALLBACK).values()),
            CONTROLS.name: len(store.all_controls()),
            SUBSCRIPTIONS.name: len(cosigners.all_subscriptions()) if cosigners else 0}


def restore_backup(store: TxStore, backup: VerifiedBackup, force: bool = False,
                   safety_backup: Path | None = None,
                   cosigners: CosignerStore | None = None) -> RestoreResult:
    """Replace everything in ``store`` (and the subscriptions in ``cosigners``) with the backup's
    contents, then read it back."""
    store.ensure_schema()
    if cosigners is not None:
        cosigners.ensure_schema()
    elif backup.counts()[SUBSCRIPTIONS.name]:
        raise MaintenanceError("the backup holds webhook subscriptions but no co-signer store "
                               "was given to restore them into")
    previously = held(store, cosigners)
    if any(previously.values()) and not force:
        raise MaintenanceError(
            f"the target store is not empty ({_describe(previously)}); restore into an empty "
            f"store, or pass --force to replace its contents with the backup's (whatever is not "
            f"in the backup is deleted)")
    if safety_backup is not None:
        write_backup(store, safety_backup, cosigners)
    written = dict.fromkeys((c.name for c in COLLECTIONS), 0)
    try:
        store.clear()
        for collection in (RECORDS, DELIVERIES, CONTROLS):
            for item in backup.items(collection):
                _write(store, item)
                written[collection.name] += 1
        if cosigners is not None:
            subscriptions = list(backup.items(SUBSCRIPTIONS))
            cosigners.replace_subscriptions(subscriptions)
            written[SUBSCRIPTIONS.name] = len(subscriptions)
    except Exception as exc:
        again = f"restore {safety_backup} with --force" if safety_backup else "run again with --force"
        raise MaintenanceError(f"restore stopped after {_describe(written)} "
                               f"({type(exc).__name__}: {exc}); the store is partly restored: "
                               f"fix the cause and {again}") from exc
    _read_back(store, backup, cosigners)
    return RestoreResult(written, backup.signature_count, previously, safety_backup)


def _write(store: TxStore, item: Any) -> None:
    if isinstance(item, TxRecord):
        store.restore(item)
    elif isinstance(item, Delivery):
        store.restore_delivery(item)
    elif isinstance(item, Control):
        store.controls.set(item.name, item.value)
    else:  # pragma: no cover - COLLECTIONS and this function change together
        raise TypeError(f"no writer for {type(item).__name__}")


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in counts.items())


def _extract(path: Path, workdir: Path) -> tuple[dict[str, Any], dict[str, tuple[str, int, Path]]]:
    """The manifest, and for each data file its sha256, size and extracted copy."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise MaintenanceError(f"cannot read {path}: {exc.strerror or exc}") from None
    allowed = {MANIFEST_NAME, *(c.file for c in COLLECTIONS)}
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
    """The manifest in format 2's shape (a format 1 manifest describes records only)."""
    if manifest.get("format") != FORMAT:
        raise MaintenanceError("manifest.json does not describe a Refractor backup")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MaintenanceError("manifest.json: format_version is missing or invalid")
    if version > FORMAT_VERSION:
        raise MaintenanceError(f"backup format version {version} is newer than this Refractor "
                               f"reads ({FORMAT_VERSION}); upgrade Refractor first")
    if version == 1:
        manifest = {**manifest, "collections": {RECORDS.name: {
            "file": RECORDS.file, "count": manifest.get("record_count"),
            "bytes": manifest.get("records_bytes"), "sha256": manifest.get("records_sha256"),
            "digest": manifest.get("records_digest"),
            "counts_by_status": manifest.get("counts_by_status"),
            "signatures": manifest.get("signature_count")}}}
    collections = manifest.get("collections")
    if not isinstance(collections, dict):
        raise MaintenanceError("manifest.json: collections is missing or invalid")
    wanted = [RECORDS] if version == 1 else list(COLLECTIONS)
    for collection in wanted:
        entry = collections.get(collection.name)
        if not isinstance(entry, dict):
            raise MaintenanceError(f"manifest.json: collection {collection.name} is missing")
        for key, kind in _ENTRY_TYPES.items():
            value = entry.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise MaintenanceError(f"manifest.json: {collection.name}.{key} is missing or "
                                       f"invalid")
        if entry["file"] != collection.file:
            raise MaintenanceError(f"manifest.json: {collection.name} must be in {collection.file}")
    return manifest


def _check_items(path: Path, backup: VerifiedBackup, collection: Collection) -> None:
    """Every line parses, keys are unique, and counts and digest match the manifest."""
    stats, seen = Stats(), set()
    with backup.paths[collection.name].open("rb") as lines:
        for number, line in enumerate(lines, 1):
            try:
                item = collection.from_json(json.loads(line))
            except (ValueError, RecordFormatError) as exc:
                raise MaintenanceError(f"{path}: {collection.name} item on line {number} is "
                                       f"invalid: {exc}") from None
            key = collection.key(item)
            if key in seen:
                raise MaintenanceError(f"{path}: {collection.name} item {key} appears twice")
            seen.add(key)
            stats.add(collection, item, line)
    entry, found = backup.entry(collection), stats.manifest(collection)
    wrong = [f"{collection.name}.{key}" for key in ("count", "signatures", "counts_by_status",
                                                    "digest")
             if key in entry and entry[key] != found.get(key)]
    if wrong:
        raise MaintenanceError(f"{path}: the {collection.name} do not match the manifest's "
                               f"{', '.join(wrong)}; nothing was restored")


def _read_back(store: TxStore, backup: VerifiedBackup, cosigners: CosignerStore | None) -> None:
    """The store holds exactly the backup's items: none missing, none different, none extra."""
    # iter_all() rather than get(): only iter_all() promises sources and signers (SQLite's get()
    # leaves them out), and one scan beats a query per record.
    stored: dict[Collection, Iterator[Any]] = {
        RECORDS: store.iter_all(), DELIVERIES: store.iter_deliveries(),
        CONTROLS: iter([Control(k, v) for k, v in store.all_controls().items()]),
        SUBSCRIPTIONS: iter(cosigners.all_subscriptions() if cosigners else [])}
    problems = []
    for collection, items in stored.items():
        expected = {collection.key(i): collection.digest(i) for i in backup.items(collection)}
        for item in items:
            key = collection.key(item)
            want = expected.pop(key, None)
            if want is None:
                problems.append(f"{collection.name} {key} is not in the backup")
            elif collection.digest(item) != want:
                problems.append(f"{collection.name} {key} differs from the backup")
        problems += [f"{collection.name} {key} is missing" for key in expected]
    if problems:
        more = f" ... and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        raise MaintenanceError("read-back verification failed: " + "; ".join(problems[:_SHOWN]) + more)
