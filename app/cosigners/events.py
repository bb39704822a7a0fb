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

from app.txs.model import TxRecord, TxStatus

AWAITING_SIGNATURE = "tx.awaiting_signature"
SIGNATURE_ADDED = "tx.signature_added"
READY = "tx.ready"
SUBMITTED = "tx.submitted"
FAILED = "tx.failed"
EXPIRED = "tx.expired"
TEST = "test"  # sent on request, to check a receiver
EVENT_TYPES = (AWAITING_SIGNATURE, SIGNATURE_ADDED, READY, SUBMITTED, FAILED, EXPIRED)


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
    if record.status is not TxStatus.PENDING:
        return set()
    progress = record.derived.get("progress") or {}
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
    if after.status is TxStatus.PROCESSED and was is not TxStatus.PROCESSED \
            and after.submitted is not None:
        events.append(Event(SUBMITTED, everyone))
    if after.status is TxStatus.FAILED and was is not TxStatus.FAILED:
        events.append(Event(EXPIRED if expired else FAILED, everyone))
    return events


def own_progress(record: TxRecord, account: str) -> dict[str, Any]:
    """What concerns ``account``: the accounts it is a source or signer of, and whether its own
    signature is still wanted."""
    progress = record.derived.get("progress") or {}
    rows = []
    signed = {s.key for s in record.signatures}
    for row in progress.get("accounts") or []:
        keys = {s.get("key") for s in row.get("signers") or []}
        if row.get("account") != account and account not in keys:
            continue
        rows.append({"account": row.get("account"), "threshold": row.get("threshold"),
                     "weight": row.get("weight"), "satisfied": row.get("satisfied"),
                     "missingSigners": [s.get("key") for s in row.get("signers") or []
                                        if not s.get("signed") and s.get("weight", 0) > 0]})
    return {"ready": bool(progress.get("ready")), "signed": account in signed,
            "signatureNeeded": account in awaiting(record), "accounts": rows}


def payload(event_type: str, record: TxRecord, account: str, ui_base: str | None,
            now: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "hash": record.hash,
        "network": record.network,
        "status": record.status.value,
        "account": account,
        "progress": own_progress(record, account),
        "url": f"{ui_base}/tx/{record.hash}" if ui_base else None,
    }
    if record.error and event_type in (FAILED, EXPIRED):
        data["error"] = record.error
    return {"type": event_type, "timestamp": _iso(now), "data": data}


def test_payload(account: str, now: float) -> dict[str, Any]:
    return {"type": TEST, "timestamp": _iso(now),
            "data": {"account": account, "message": "Test event from Refractor"}}


def _iso(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
