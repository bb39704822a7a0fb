"""Archives of formats 1 and 2, read as format 3 rows.

Format 1 holds ``records.jsonl`` only (its manifest describes it in top-level fields). Format 2
holds ``records.jsonl``, ``deliveries.jsonl`` (callbacks; they become ``deliver_callback`` jobs),
``controls.jsonl`` and ``subscriptions.jsonl``. Their digests were taken over each line's JSON as
written, so they are checked over the raw line: records written before the job queue carry its
fields (attempts, due_at, lease_owner, lease_until), which the digest covers and the restore drops.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.store.deliveries import to_job
from app.store.record_json import raw_digest
from app.store.snapshot import (
    CONTROLS,
    JOBS,
    RECORDS,
    SUBSCRIPTIONS,
    Kind,
    Row,
    RowFormatError,
    job_row,
    record_row,
    row_record,
)
from app.txs.model import Delivery


def _sha256(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _floated(*names: str) -> Callable[[dict[str, Any]], str]:
    def digest(raw: dict[str, Any]) -> str:
        data = dict(raw)
        for name in names:
            value = data.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                data[name] = float(value)
        return _sha256(data)
    return digest


_DELIVERY_FIELDS = {f.name for f in dataclasses.fields(Delivery)}
_DELIVERY_FLOATS = ("created_at", "due_at", "lease_until")


def _delivery_row(raw: dict[str, Any]) -> Row:
    unknown = sorted(set(raw) - _DELIVERY_FIELDS)
    if unknown:
        raise RowFormatError(f"unknown field(s) {', '.join(unknown)}")
    values = dict(raw)
    for name in _DELIVERY_FLOATS:
        if isinstance(values.get(name), int) and not isinstance(values.get(name), bool):
            values[name] = float(values[name])
    try:
        delivery = Delivery(**values)
    except TypeError as exc:
        raise RowFormatError(str(exc)) from None
    if not isinstance(delivery.id, str) or not delivery.id or not isinstance(delivery.log, list):
        raise RowFormatError("a delivery needs an id and a log list")
    if not isinstance(delivery.payload, dict):
        raise RowFormatError(f"delivery {delivery.id}: payload must be an object")
    return JOBS.check(job_row(to_job(delivery)))


@dataclass(frozen=True)
class LegacyFile:
    """One collection of a format 1 or 2 archive, and the format 3 collection it restores into."""

    name: str
    kind: Kind
    key: str  # the field that identifies a line
    digest: Callable[[dict[str, Any]], str]  # over the raw line, as the old writer computed it
    to_row: Callable[[dict[str, Any]], Row]
    by_status: bool = False
    optional: bool = False  # added within format 2: earlier format 2 archives lack it

    @property
    def file(self) -> str:
        return f"{self.name}.jsonl"

    def read(self, raw: object) -> tuple[dict[str, Any], Row]:
        if not isinstance(raw, dict):
            raise RowFormatError(f"a {self.name} line must be a JSON object")
        return raw, self.to_row(raw)


LEGACY_FILES = (
    LegacyFile("records", RECORDS, "hash", raw_digest, lambda raw: record_row(row_record(raw)),
               by_status=True),
    LegacyFile("deliveries", JOBS, "id", _floated(*_DELIVERY_FLOATS), _delivery_row,
               by_status=True),
    LegacyFile("controls", CONTROLS, "name", _sha256, CONTROLS.check),
    LegacyFile("subscriptions", SUBSCRIPTIONS, "id", _floated("created_at"), SUBSCRIPTIONS.check,
               optional=True),
)


def files_of(version: int) -> tuple[LegacyFile, ...]:
    return LEGACY_FILES[:1] if version == 1 else LEGACY_FILES


def v1_manifest(manifest: dict[str, Any]) -> dict[str, Any]:
    """A format 1 manifest in format 2's shape (it describes records only)."""
    return {**manifest, "collections": {"records": {
        "file": "records.jsonl", "count": manifest.get("record_count"),
        "bytes": manifest.get("records_bytes"), "sha256": manifest.get("records_sha256"),
        "digest": manifest.get("records_digest"),
        "counts_by_status": manifest.get("counts_by_status"),
        "signatures": manifest.get("signature_count")}}}
