"""The storage interface every engine implements, and the query types it takes."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from app.errors import ValidationFailed
from app.txs.model import Delivery, StoredSignature, TxRecord, TxStatus


@dataclass(frozen=True, slots=True)
class TxQuery:
    account: str | None = None  # a source account or a potential signer
    signer: str | None = None  # a potential signer
    awaiting: str | None = None  # a potential signer that has not signed a pending transaction
    status: TxStatus | None = None
    network: str | None = None
    limit: int = 20
    cursor: tuple[float, str] | None = None  # (created_at, hash) of the last item already seen
    # Private records are listed only to this signed-in account, when it is a party or the creator.
    viewer: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[TxRecord]
    next: tuple[float, str] | None


MAX_CURSOR_TIME = 2**53  # seconds; any record's creation time is far below


def encode_cursor(position: tuple[float, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


MAX_CURSOR_LENGTH = 200  # an encoded (timestamp, hash) pair is about 110 characters
_CURSOR_HASH = re.compile(r"[0-9a-f]{64}")


def decode_cursor(text: str) -> tuple[float, str]:
    """The position a cursor names; anything this server did not produce is a 400."""
    invalid = ValidationFailed("Invalid \"cursor\" parameter.", "cursor")
    if len(text) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        created, tx_hash = json.loads(raw)
    except (ValueError, TypeError, RecursionError) as exc:
        raise invalid from exc
    if (isinstance(created, bool) or not isinstance(created, int | float)
            or not isinstance(tx_hash, str) or not _CURSOR_HASH.fullmatch(tx_hash)):
        raise invalid
    if not 0 <= created <= MAX_CURSOR_TIME:  # also refuses NaN, infinities and huge integers
        raise invalid
    return float(created), tx_hash


class TxStore(Protocol):
    """What the domain needs from storage. Every state change is conditional and atomic."""

    # Point reads cheap enough (tens of microseconds, no network) to run on the event loop.
    inline_reads: bool

    def ensure_schema(self) -> None:
        """Create tables/collections and indexes; idempotent."""

    def ping(self) -> None:
        """Raise if the store is unreachable."""

    def close(self) -> None: ...

    def insert(self, record: TxRecord) -> bool:
        """Insert a new record with its signatures (``sig_count`` must match them) in one atomic
        write; False, writing nothing, if the hash exists already."""

    def get(self, tx_hash: str, by_inner: bool = True) -> TxRecord | None:
        """The record with this hash, or (``by_inner``) whose fee-bump inner hash this is."""

    def add_signatures(self, tx_hash: str, signatures: list[StoredSignature],
                       limit: int) -> list[StoredSignature]:
        """Add each signature unless its signer is stored already or ``limit`` is reached.

        Atomic per signature, safe under any number of concurrent writers; returns those added.
        """

    def save_evaluation(self, tx_hash: str, sig_count: int, derived: dict[str, Any],
                        ready: bool, now: float) -> bool:
        """Store the view computed from exactly ``sig_count`` signatures, and move a pending
        record to ready if ``ready``; a no-op when the signature count has moved on since."""

    def transition(self, tx_hash: str, expected: TxStatus, new: TxStatus,
                   fields: dict[str, Any]) -> bool:
        """Set ``status = new`` and ``fields`` only if the status is still ``expected``."""

    def update_fields(self, tx_hash: str, fields: dict[str, Any]) -> bool: ...

    def search(self, query: TxQuery) -> Page: ...

    def iter_all(self) -> Iterator[TxRecord]:
        """Every record with its signatures (backups and migrations)."""

    def restore(self, record: TxRecord) -> None:
        """Write a record exactly as given, replacing any with the same hash."""

    def count_by_status(self) -> dict[str, int]: ...

    def claim_due(self, owner: str, now: float, lease_seconds: float, limit: int) -> list[TxRecord]:
        """Lease up to ``limit`` records that are ready and due, or whose lease has expired."""

    def release(self, tx_hash: str, owner: str, fields: dict[str, Any]) -> bool:
        """Update a leased record and drop the lease, only while ``owner`` holds it."""

    def delete_final_before(self, cutoff: float, limit: int) -> int:
        """Delete processed/failed records last updated before ``cutoff``."""

    def delete_unsigned_before(self, cutoff: float, limit: int) -> int:
        """Delete pending records that never got a signature and were created before ``cutoff``."""

    def expired(self, now: float, limit: int) -> list[str]:
        """Pending or ready records whose maxTime has passed."""

    def add_delivery(self, delivery: Delivery) -> bool:
        """Queue a callback; False if one with this id exists."""

    def claim_deliveries(self, owner: str, now: float, lease_seconds: float,
                         limit: int) -> list[Delivery]: ...

    def finish_attempt(self, delivery_id: str, owner: str, attempt: dict[str, Any],
                       fields: dict[str, Any]) -> bool:
        """Log one attempt, update the delivery and drop the lease, only while ``owner`` holds it."""

    def deliveries(self, tx_hash: str) -> list[Delivery]: ...

    def delivery_counts(self) -> dict[str, int]: ...

    def get_control(self, name: str) -> dict[str, Any] | None: ...

    def set_control(self, name: str, value: dict[str, Any]) -> None: ...

    # -- backups: every collection, whole --

    def iter_deliveries(self) -> Iterator[Delivery]:
        """Every callback delivery with its attempt log, by id."""

    def restore_delivery(self, delivery: Delivery) -> None:
        """Write a delivery exactly as given, replacing any with the same id."""

    def all_controls(self) -> dict[str, dict[str, Any]]:
        """Every queue control (pause, concurrency, schema version, ...) by name."""

    def clear(self) -> None:
        """Delete every record, delivery and control: a restore replaces the store's contents.
        Only run while no instance uses the store."""
