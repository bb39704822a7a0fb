"""A store's whole contents as engine-independent rows: what backups write and restores read.

Every store exposes ``export_snapshot()`` (its collections as of one moment, as far as the engine
allows) and ``import_snapshot()`` (replace everything it holds with given rows). Both speak the
logical collections below, not tables or documents, so an archive made from one engine restores
into the other, and the maintenance code handles every collection alike: one JSON object per
row, a key that identifies it, and a canonical form both engines give back identically (the digest
is taken over it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from app.jobs.model import Job, JobState
from app.store.cosigners import EventDelivery, Subscription
from app.store.record_json import RecordFormatError, canonical, from_json
from app.txs.model import TxRecord

Row = dict[str, Any]


class RowFormatError(ValueError):
    """A row that does not describe a valid item of its collection."""


@dataclass(frozen=True)
class Kind:
    """One logical collection: its name (and archive file), how a row is keyed and checked."""

    name: str
    key: Callable[[Row], str]
    check: Callable[[object], Row]  # the validated, canonical row; RowFormatError otherwise
    status: Callable[[Row], str] | None = None  # what the manifest counts rows by

    @property
    def file(self) -> str:
        return f"{self.name}.jsonl"


@dataclass
class StoreExport:
    """A store's collections as row iterators, each ordered by key, all read at one moment
    (``consistency`` says how far the engine could promise that)."""

    consistency: str  # "snapshot" or "per-document"
    collections: dict[str, Iterator[Row]]
    note: str | None = None


class Exportable(Protocol):
    snapshot_kinds: tuple[Kind, ...]

    def export_snapshot(self) -> AbstractContextManager[StoreExport]:
        """Every collection of the store as rows, read as of one moment where the engine can."""

    def import_snapshot(self, collections: Mapping[str, Iterable[Row]]) -> None:
        """Replace everything the store holds with these rows (a collection not given is left
        empty). Only while no instance uses the store."""


def row_digest(row: Row) -> str:
    text = json.dumps(row, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _float(value: Any) -> Any:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _object(data: object, fields: set[str], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise RowFormatError(f"a {what} must be a JSON object")
    unknown, missing = sorted(set(data) - fields), sorted(fields - set(data))
    if unknown or missing:
        raise RowFormatError(f"{what}: unknown field(s) {unknown}, missing field(s) {missing}")
    return dict(data)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise RowFormatError(message)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- records (TxStore) --

def record_row(record: TxRecord) -> Row:
    return canonical(record)


def row_record(row: object) -> TxRecord:
    try:
        return from_json(row)
    except RecordFormatError as exc:
        raise RowFormatError(str(exc)) from None


def _check_record(data: object) -> Row:
    if isinstance(data, dict) and not data.keys() <= _RECORD_FIELDS:
        raise RowFormatError(f"record: unknown field(s) {sorted(set(data) - _RECORD_FIELDS)}")
    return record_row(row_record(data))


_RECORD_FIELDS = {f.name for f in dataclasses.fields(TxRecord)}


# -- jobs (TxStore) --

_JOB_FIELDS = {f.name for f in dataclasses.fields(Job)}
_JOB_FLOATS = ("due_at", "created_at", "updated_at", "lease_until")


def job_row(job: Job) -> Row:
    row = dataclasses.asdict(job)
    row["state"] = job.state.value
    for name in _JOB_FLOATS:
        row[name] = _float(row[name])
    return row


def row_job(row: object) -> Job:
    data = _object(row, _JOB_FIELDS, "job")
    try:
        data["state"] = JobState(data["state"])
    except ValueError:
        raise RowFormatError(f"job {data['id']}: unknown state {data['state']!r}") from None
    _require(isinstance(data["id"], str) and bool(data["id"]) and isinstance(data["kind"], str),
             "a job needs a string id and kind")
    _require(isinstance(data["data"], dict) and isinstance(data["log"], list),
             f"job {data['id']}: data must be an object and log a list")
    _require(all(_number(data[n]) for n in ("due_at", "created_at", "updated_at"))
             and _number(data["attempts"]) and isinstance(data["rearm"], bool),
             f"job {data['id']}: times and attempts must be numbers, rearm a boolean")
    return Job(**data)


# -- controls (TxStore) --

def control_row(name: str, value: dict[str, Any]) -> Row:
    return {"name": name, "value": value}


def _check_control(data: object) -> Row:
    row = _object(data, {"name", "value"}, "control")
    _require(isinstance(row["name"], str) and isinstance(row["value"], dict),
             "a control's name must be a string and its value an object")
    return row


# -- co-signer store --

def challenge_row(challenge_id: str, expires_at: float) -> Row:
    return {"id": challenge_id, "expires_at": _float(expires_at)}


def _check_challenge(data: object) -> Row:
    row = _object(data, {"id", "expires_at"}, "used challenge")
    _require(isinstance(row["id"], str) and _number(row["expires_at"]),
             "a used challenge needs a string id and a numeric expires_at")
    return challenge_row(row["id"], row["expires_at"])


_SUBSCRIPTION_FIELDS = {f.name for f in dataclasses.fields(Subscription)}


def subscription_row(subscription: Subscription) -> Row:
    row = dataclasses.asdict(subscription)
    row["created_at"] = _float(row["created_at"])
    return row


def row_subscription(row: object) -> Subscription:
    data = _object(row, _SUBSCRIPTION_FIELDS, "subscription")
    _require(all(isinstance(data[k], str) for k in ("id", "account", "url", "secret")),
             "a subscription's id, account, url and secret must be strings")
    _require(isinstance(data["events"], list) and all(isinstance(e, str) for e in data["events"]),
             "a subscription's events must be a list of strings")
    _require(_number(data["created_at"]), "a subscription's created_at must be a number")
    return Subscription(**data)


_EVENT_FIELDS = {f.name for f in dataclasses.fields(EventDelivery)}


def event_row(event: EventDelivery) -> Row:
    row = dataclasses.asdict(event)
    row["created_at"] = _float(row["created_at"])
    return row


def row_event(row: object) -> EventDelivery:
    data = _object(row, _EVENT_FIELDS, "subscription event")
    _require(all(isinstance(data[k], str) for k in
                 ("id", "subscription", "account", "stream", "type", "status")),
             "a subscription event's ids, stream, type and status must be strings")
    _require(isinstance(data["payload"], dict) and isinstance(data["log"], list)
             and _number(data["created_at"]) and _number(data["attempts"]),
             f"subscription event {data['id']}: payload must be an object, log a list, "
             f"created_at and attempts numbers")
    return EventDelivery(**data)


def quota_row(account: str, slot: int, n: int) -> Row:
    return {"account": account, "slot": int(slot), "n": int(n)}


def _check_quota(data: object) -> Row:
    row = _object(data, {"account", "slot", "n"}, "event quota")
    _require(isinstance(row["account"], str) and _number(row["slot"]) and _number(row["n"]),
             "an event quota needs a string account and numeric slot and n")
    return quota_row(row["account"], row["slot"], row["n"])


RECORDS = Kind("records", lambda r: str(r["hash"]), _check_record, status=lambda r: str(r["status"]))
JOBS = Kind("jobs", lambda r: str(r["id"]), lambda d: job_row(row_job(d)),
            status=lambda r: f"{r['kind']}/{r['state']}")
CONTROLS = Kind("controls", lambda r: str(r["name"]), _check_control)
CHALLENGES = Kind("auth_challenges", lambda r: str(r["id"]), _check_challenge)
SUBSCRIPTIONS = Kind("subscriptions", lambda r: str(r["id"]),
                     lambda d: subscription_row(row_subscription(d)))
EVENTS = Kind("subscription_events", lambda r: str(r["id"]),
              lambda d: event_row(row_event(d)),
              status=lambda r: str(r["status"]))
QUOTAS = Kind("event_quota", lambda r: f"{r['account']} {r['slot']}", _check_quota)

# What each store holds; a restore writes each store's kinds through that store.
TX_KINDS: tuple[Kind, ...] = (RECORDS, JOBS, CONTROLS)
COSIGNER_KINDS: tuple[Kind, ...] = (CHALLENGES, SUBSCRIPTIONS, EVENTS, QUOTAS)
KINDS = {k.name: k for k in (*TX_KINDS, *COSIGNER_KINDS)}


def empty_export(kinds: Iterable[Kind], consistency: str = "snapshot") -> StoreExport:
    return StoreExport(consistency, {k.name: iter(()) for k in kinds})


def given(collections: Mapping[str, Iterable[Row]], kind: Kind) -> Iterator[Row]:
    """The rows given for ``kind`` (none if absent), each checked: an import writes only valid
    rows."""
    for row in collections.get(kind.name, ()):
        yield kind.check(row)
