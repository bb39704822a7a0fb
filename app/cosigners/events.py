"""Which events a change of a record raises, for whom, and the payload each subscriber receives.

Pure: no I/O. Payloads follow Standard Webhooks' recommended shape
``{"type", "timestamp", "data": {...}}``; ``data`` holds the subscriber's own progress, so a
receiver knows what is still missing without another request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.txs import reasons
from app.txs.model import TxRecord, TxStatus

AWAITING_SIGNATURE = "tx.awaiting_signature"
SIGNATURE_ADDED = "tx.signature_added"
READY = "tx.ready"
SUBMITTED = "tx.submitted"
FAILED = "tx.failed"
EXPIRED = "tx.expired"
STALE = "tx.stale"  # its sequence number was consumed by another transaction
SUPERSEDED = "tx.superseded"  # another transaction with the same source and sequence landed
TEST = "test"  # sent on request, to check a receiver
EVENT_TYPES = (AWAITING_SIGNATURE, SIGNATURE_ADDED, READY, SUBMITTED, FAILED, EXPIRED, STALE,
               SUPERSEDED)
# A record's end raises exactly one of these.
ENDINGS = (SUBMITTED, FAILED, EXPIRED, STALE, SUPERSEDED)
_BY_REASON = {reasons.SEQUENCE_CONSUMED: STALE, reasons.SUPERSEDED_BY: SUPERSEDED,
              reasons.EXPIRED: EXPIRED}


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    accounts: frozenset[str]  # the subscribing accounts it concerns


def parties(record: TxRecord) -> set[str]:
    """Source accounts and potential signers (ed25519 keys: only they can sign in). A record read
    back without its party lists still has them in its progress."""
    found = {*record.sources, *record.signers}
    for row in (record.derived.get("progress") or {}).get("accounts") or []:
        found.add(row.get("account", ""))
        found.update(s.get("key", "") for s in row.get("signers") or [])
    return {a for a in found if a.startswith("G")}


def awaiting(record: TxRecord) -> set[str]:
    """Signers whose signature would still count: not signed yet, with weight, for an account
    not satisfied yet."""
    return _awaiting(record.status.value, record.derived.get("progress") or {})


def _awaiting(status: str, progress: dict[str, Any]) -> set[str]:
    if status != TxStatus.PENDING.value:
        return set()
    found: set[str] = set()
    for row in progress.get("accounts") or []:
        if row.get("satisfied") or row.get("frozen"):
            continue
        for signer in row.get("signers") or []:
            key = signer.get("key", "")
            if key.startswith("G") and not signer.get("signed") and signer.get("weight", 0) > 0:
                found.add(key)
    return found


def changes(before: TxRecord | None, after: TxRecord, added: Iterable[str] = (),
            expired: bool = False) -> list[Event]:
    """The events raised by going from ``before`` (None: just created) to ``after``."""
    events: list[Event] = []
    everyone = frozenset(parties(after))
    added = list(added)
    if added:
        events.append(Event(SIGNATURE_ADDED, everyone))
    if after.status is TxStatus.PENDING and (before is None or added):
        waiting = frozenset(awaiting(after) - set(added))
        if waiting:
            events.append(Event(AWAITING_SIGNATURE, waiting))
    was = before.status if before is not None else None
    if after.ready_at is not None and (before is None or before.ready_at is None):
        events.append(Event(READY, everyone))
    # Applied: sent by this server (``submitted``), or found in a ledger by hash.
    applied = after.submitted is not None or (after.result or {}).get("ledger") is not None
    if after.status is TxStatus.PROCESSED and was is not TxStatus.PROCESSED and applied:
        events.append(Event(SUBMITTED, everyone))
    if after.status is TxStatus.FAILED and was is not TxStatus.FAILED:
        events.append(Event(EXPIRED if expired else failure(after), everyone))
    return events


def failure(record: TxRecord) -> str:
    """The event a failed record raises, by its reason: stale, superseded, expired, else
    failed (the network refused or failed it)."""
    code = reason_code(record)
    if code in _BY_REASON:
        return _BY_REASON[code]
    if record.error and record.error.startswith(reasons.EXPIRED_MESSAGE):
        return EXPIRED
    return FAILED


def reason_code(record: TxRecord) -> str | None:
    reason = record.derived.get("reason")
    code = reason.get("code") if isinstance(reason, dict) else None
    return code if isinstance(code, str) else None


def snapshot(record: TxRecord) -> dict[str, Any]:
    """What the payloads of one change are made of: the record as it was then (events are
    queued as jobs and built later; they describe the change, not a later state)."""
    return {"hash": record.hash, "network": record.network, "status": record.status.value,
            "error": record.error,
            "reason": reasons.reason_of(record.status.value, record.error, record.result,
                                        record.derived.get("reason")),
            "progress": record.derived.get("progress") or {},
            "signed": sorted({s.key for s in record.signatures})}


def own_progress(record: TxRecord | dict[str, Any], account: str) -> dict[str, Any]:
    """What concerns ``account``: the accounts it is a source or signer of, and whether its own
    signature is still wanted."""
    snap = snapshot(record) if isinstance(record, TxRecord) else record
    progress = snap["progress"]
    rows = []
    signed = set(snap["signed"])
    for row in progress.get("accounts") or []:
        keys = {s.get("key") for s in row.get("signers") or []}
        if row.get("account") != account and account not in keys:
            continue
        rows.append({"account": row.get("account"), "threshold": row.get("threshold"),
                     "weight": row.get("weight"), "satisfied": row.get("satisfied"),
                     "missingSigners": [s.get("key") for s in row.get("signers") or []
                                        if not s.get("signed") and s.get("weight", 0) > 0]})
    return {"ready": bool(progress.get("ready")), "signed": account in signed,
            "signatureNeeded": account in _awaiting(snap["status"], progress), "accounts": rows}


def payload(event_type: str, record: TxRecord | dict[str, Any], account: str,
            ui_base: str | None, now: float) -> dict[str, Any]:
    """The body sent to ``account``'s subscription; ``record`` may be a ``snapshot``."""
    snap = snapshot(record) if isinstance(record, TxRecord) else record
    data: dict[str, Any] = {
        "hash": snap["hash"],
        "network": snap["network"],
        "status": snap["status"],
        "account": account,
        "progress": own_progress(snap, account),
        "url": f"{ui_base}/tx/{snap['hash']}" if ui_base else None,
    }
    if event_type in ENDINGS and event_type != SUBMITTED:
        if snap["error"]:
            data["error"] = snap["error"]
        if snap.get("reason"):
            data["reason"] = snap["reason"]
        if event_type == SUPERSEDED:
            data["supersededBy"] = (snap.get("reason") or {}).get("hash")
    return {"type": event_type, "timestamp": _iso(now), "data": data}


def test_payload(account: str, now: float) -> dict[str, Any]:
    return {"type": TEST, "timestamp": _iso(now),
            "data": {"account": account, "message": "Test event from Refractor"}}


def _iso(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
