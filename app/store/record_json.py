"""One TxRecord as one JSON object (a row of the "records" snapshot collection), and its digest.

Python's JSON float repr round-trips exactly, so times survive unchanged. The digest is taken over a
canonical form that ignores what the engines legitimately differ on: SQLite keeps ``sources`` and
``signers`` as sorted, de-duplicated rows, and stores integral REALs and INTEGERs in its own way.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import json
from typing import Any

from app.txs.model import StoredSignature, TxRecord, TxStatus

_FIELDS = {f.name: f for f in dataclasses.fields(TxRecord)}
_FLOATS = {"created_at", "updated_at", "ready_at", "next_attempt_at"}
_INTS = {"min_time", "max_time", "submitted", "sig_count"}
# Queue fields records carried before the job queue had its own store; read and dropped.
_LEGACY = {"attempts", "due_at", "lease_owner", "lease_until"}
_LEGACY_FLOATS = {"due_at", "lease_until"}
_LEGACY_INTS = {"attempts"}
_SETS = ("sources", "signers")
_SIG_KEYS = {"key", "signature", "added_at"}


class RecordFormatError(ValueError):
    pass


def to_json(record: TxRecord) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(record, name)
        if name == "signatures":
            value = [{"key": s.key, "signature": base64.b64encode(s.signature).decode(),
                      "added_at": s.added_at} for s in value]
        elif isinstance(value, TxStatus):
            value = value.value
        data[name] = value
    return data


def dumps(record: TxRecord) -> str:
    """One line of records.jsonl."""
    return json.dumps(to_json(record), separators=(",", ":"), allow_nan=False)


def from_json(data: object) -> TxRecord:
    """Rebuild a record; raise RecordFormatError naming what is wrong."""
    if not isinstance(data, dict):
        raise RecordFormatError("a record must be a JSON object")
    unknown = sorted(set(data) - set(_FIELDS) - _LEGACY)
    if unknown:
        raise RecordFormatError(f"unknown field(s) {', '.join(unknown)}")
    values = {k: v for k, v in data.items() if k not in _LEGACY}
    try:
        values["status"] = TxStatus(str(values.get("status")))
        values["signatures"] = [_signature(s) for s in values.get("signatures", [])]
        for name in _FLOATS & values.keys():
            values[name] = _number(values[name], float)
        for name in _INTS & values.keys():
            values[name] = _number(values[name], int)
        record = TxRecord(**values)
    except (TypeError, ValueError) as exc:
        raise RecordFormatError(str(exc)) from None
    if not isinstance(record.hash, str) or not record.hash:
        raise RecordFormatError("hash is missing")
    return record


def _signature(data: object) -> StoredSignature:
    if not isinstance(data, dict) or set(data) != _SIG_KEYS:
        raise ValueError("a signature must be an object with key, signature and added_at")
    try:
        raw = base64.b64decode(data["signature"], validate=True)
    except (binascii.Error, TypeError) as exc:
        raise ValueError(f"signature of {data['key']} is not base64") from exc
    return StoredSignature(str(data["key"]), raw, _number(data["added_at"], float))


def _number(value: Any, kind: type[float] | type[int]) -> Any:
    """Integral floats as ints and ints as floats, as the field's type says; other values as they are."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if kind is float:
        return float(value)
    return int(value) if isinstance(value, float) and value.is_integer() else value


def canonical(record: TxRecord) -> dict[str, Any]:
    """The record as JSON in the form both engines give back alike: sources and signers as sorted
    sets, times as floats, integral counters as ints."""
    return _normalised(to_json(record))


def _normalised(data: dict[str, Any]) -> dict[str, Any]:
    for name in _SETS:
        if name in data:
            data[name] = sorted(set(data[name]))
    for name in (_FLOATS | _LEGACY_FLOATS) & data.keys():
        data[name] = _number(data[name], float)
    for name in (_INTS | _LEGACY_INTS) & data.keys():
        data[name] = _number(data[name], int)
    for sig in data.get("signatures") or []:
        if isinstance(sig, dict) and "added_at" in sig:
            sig["added_at"] = _number(sig["added_at"], float)
    return data


def _sha256(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def digest(record: TxRecord) -> str:
    """sha256 of the record's canonical JSON (engine-independent)."""
    return _sha256(canonical(record))


def raw_digest(data: dict[str, Any]) -> str:
    """The digest of a record line as it was written, fields since removed included: archives
    made before the job queue carry its fields in their records, and their digests cover them."""
    return _sha256(_normalised(json.loads(json.dumps(data))))
