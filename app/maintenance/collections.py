"""The collections a backup holds, each as one JSON Lines file, and how each line is checked.

A collection knows how to turn its items into JSON objects and back, the key that identifies an
item, and a digest of an item's logical content (engine-independent), so the manifest can carry a
count, a checksum of the file's bytes and a digest of the content for every collection alike.
Adding a collection to backups is one more entry in COLLECTIONS.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.maintenance.records import RecordFormatError, digest, from_json, to_json
from app.store.cosigners import Subscription
from app.txs.model import Delivery, TxRecord

DIGEST_METHOD = ("per collection: sha256 over one '<key> <item digest>\\n' line per item in file "
                 "order; item digest = sha256 of the item's canonical JSON (sorted keys; records "
                 "with sources and signers as sorted sets, integral numbers normalised)")


@dataclass(frozen=True)
class Control:
    """One named queue control document (pause, concurrency, schema version, ...)."""

    name: str
    value: dict[str, Any]


@dataclass(frozen=True)
class Collection:
    name: str
    file: str
    to_json: Callable[[Any], dict[str, Any]]
    from_json: Callable[[object], Any]
    key: Callable[[Any], str]
    digest: Callable[[Any], str]
    status: Callable[[Any], str] | None = None  # items counted by this in the manifest


def _canonical_digest(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


_DELIVERY_FIELDS = {f.name for f in dataclasses.fields(Delivery)}
_DELIVERY_FLOATS = ("created_at", "due_at", "lease_until")


def _delivery_json(delivery: Delivery) -> dict[str, Any]:
    return dataclasses.asdict(delivery)


def _delivery_from_json(data: object) -> Delivery:
    if not isinstance(data, dict):
        raise RecordFormatError("a delivery must be a JSON object")
    unknown = sorted(set(data) - _DELIVERY_FIELDS)
    if unknown:
        raise RecordFormatError(f"unknown field(s) {', '.join(unknown)}")
    values = dict(data)
    for name in _DELIVERY_FLOATS:
        if isinstance(values.get(name), int) and not isinstance(values.get(name), bool):
            values[name] = float(values[name])
    try:
        delivery = Delivery(**values)
    except TypeError as exc:
        raise RecordFormatError(str(exc)) from None
    if not isinstance(delivery.id, str) or not delivery.id or not isinstance(delivery.log, list):
        raise RecordFormatError("a delivery needs an id and a log list")
    if not isinstance(delivery.payload, dict):
        raise RecordFormatError(f"delivery {delivery.id}: payload must be an object")
    return delivery


def _delivery_digest(delivery: Delivery) -> str:
    data = _delivery_json(delivery)
    for name in _DELIVERY_FLOATS:
        if isinstance(data[name], int | float):
            data[name] = float(data[name])
    return _canonical_digest(data)


_SUBSCRIPTION_FIELDS = {"id", "account", "url", "events", "secret", "created_at"}


def _subscription_from_json(data: object) -> Subscription:
    if not isinstance(data, dict) or set(data) != _SUBSCRIPTION_FIELDS:
        raise RecordFormatError(f"a subscription must be an object with {sorted(_SUBSCRIPTION_FIELDS)}")
    if not isinstance(data["events"], list) or not all(isinstance(e, str) for e in data["events"]):
        raise RecordFormatError("a subscription's events must be a list of strings")
    if not isinstance(data["created_at"], int | float) or isinstance(data["created_at"], bool):
        raise RecordFormatError("a subscription's created_at must be a number")
    if not all(isinstance(data[k], str) for k in ("id", "account", "url", "secret")):
        raise RecordFormatError("a subscription's id, account, url and secret must be strings")
    return Subscription(data["id"], data["account"], data["url"], list(data["events"]),
                        data["secret"], float(data["created_at"]))


def _subscription_digest(subscription: Subscription) -> str:
    data = dataclasses.asdict(subscription)
    data["created_at"] = float(data["created_at"])
    return _canonical_digest(data)


def _control_from_json(data: object) -> Control:
    if not isinstance(data, dict) or set(data) != {"name", "value"}:
        raise RecordFormatError("a control must be an object with name and value")
    if not isinstance(data["name"], str) or not isinstance(data["value"], dict):
        raise RecordFormatError("a control's name must be a string and its value an object")
    return Control(data["name"], data["value"])


RECORDS = Collection("records", "records.jsonl", to_json, from_json, lambda r: r.hash, digest,
                     status=lambda r: r.status.value)
DELIVERIES = Collection("deliveries", "deliveries.jsonl", _delivery_json, _delivery_from_json,
                        lambda d: d.id, _delivery_digest, status=lambda d: d.status)
CONTROLS = Collection("controls", "controls.jsonl", dataclasses.asdict, _control_from_json,
                      lambda c: c.name, lambda c: _canonical_digest(dataclasses.asdict(c)))
# Webhook subscriptions of signed-in co-signers (the co-signer store), secrets included.
SUBSCRIPTIONS = Collection("subscriptions", "subscriptions.jsonl", dataclasses.asdict,
                           _subscription_from_json, lambda s: s.id, _subscription_digest)
COLLECTIONS = (RECORDS, DELIVERIES, CONTROLS, SUBSCRIPTIONS)


@dataclass
class Stats:
    """What the manifest says about one collection's file; computed alike when writing and checking."""

    count: int = 0
    signatures: int = 0  # records only
    by_status: Counter[str] = field(default_factory=Counter)
    size: int = 0
    sha256: hashlib._Hash = field(default_factory=hashlib.sha256)  # of the file's bytes
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)  # of the logical content

    def add(self, collection: Collection, item: Any, line: bytes) -> None:
        self.count += 1
        if isinstance(item, TxRecord):
            self.signatures += len(item.signatures)
        if collection.status is not None:
            self.by_status[collection.status(item)] += 1
        self.size += len(line)
        self.sha256.update(line)
        self.digest.update(f"{collection.key(item)} {collection.digest(item)}\n".encode())

    def manifest(self, collection: Collection) -> dict[str, Any]:
        entry: dict[str, Any] = {"file": collection.file, "count": self.count, "bytes": self.size,
                                 "sha256": self.sha256.hexdigest(),
                                 "digest": self.digest.hexdigest()}
        if collection.status is not None:
            entry["counts_by_status"] = dict(sorted(self.by_status.items()))
        if collection is RECORDS:
            entry["signatures"] = self.signatures
        return entry
