"""Storage for signed-in co-signers: used SEP-10 challenges and webhook subscriptions.

Kept apart from the transaction store: different collections, different life cycles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from app.settings import Settings

if TYPE_CHECKING:  # app.store.snapshot builds on the types above
    from app.store.base import TxStore
    from app.store.snapshot import Kind, Row, StoreExport


@dataclass(slots=True)
class Subscription:
    id: str
    account: str  # the signed-in account that owns it
    url: str
    events: list[str]
    secret: str  # Standard Webhooks "whsec_..." secret; shown to the owner once, when created
    created_at: float


@dataclass(slots=True)
class EventDelivery:
    """One event for one subscription: its outbox entry and its delivery log."""

    id: str  # the webhook-id, stable across retries
    subscription: str
    account: str
    stream: str  # events of one stream (a transaction, or one test) are delivered in order
    type: str
    payload: dict[str, Any]
    created_at: float
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    last_error: str | None = None
    log: list[dict[str, Any]] = field(default_factory=list)


class CosignerStore(Protocol):
    def ensure_schema(self) -> None: ...

    def close(self) -> None: ...

    def use_challenge(self, challenge_id: str, expires_at: float, now: float) -> bool:
        """Mark a SEP-10 challenge as used; False if it was used before (a replay).

        Atomic across processes; entries expire with their challenge (dropped here, by the way).
        """

    def add_subscription(self, subscription: Subscription, limit: int) -> bool:
        """Store it unless its account has ``limit`` subscriptions already (then False)."""

    def subscriptions(self, account: str) -> list[Subscription]:
        """The account's subscriptions, oldest first."""

    def subscriptions_for(self, accounts: list[str]) -> list[Subscription]:
        """Every subscription owned by one of ``accounts``."""

    def get_subscription(self, subscription_id: str) -> Subscription | None: ...

    def delete_subscription(self, account: str, subscription_id: str) -> bool:
        """Delete one of the account's subscriptions and its events; False if it has none with
        that id."""

    def take_quota(self, account: str, window: int, limit: int) -> bool:
        """Count one event for ``account`` in time window ``window``; False (counting nothing)
        when ``limit`` events were counted in it already."""

    def add_event(self, event: EventDelivery) -> None:
        """Store an outbox entry; nothing when one with its id exists (written once)."""

    def pending_events(self, subscription_id: str, stream: str) -> list[EventDelivery]:
        """Events not delivered yet, oldest first."""

    def finish_event(self, event_id: str, status: str, entry: dict[str, Any],
                     error: str | None) -> None:
        """Log one attempt and set the event's status."""

    def events(self, subscription_id: str, limit: int) -> list[EventDelivery]:
        """The subscription's delivery log, newest first."""

    def delete_events_before(self, cutoff: float) -> int:
        """Drop delivered and failed events created before ``cutoff``."""

    # -- backups and restores: every collection, whole (app.store.snapshot) --

    snapshot_kinds: tuple[Kind, ...]

    def export_snapshot(self) -> AbstractContextManager[StoreExport]:
        """Used challenges, subscriptions, their events and the event quotas as rows."""

    def import_snapshot(self, collections: Mapping[str, Iterable[Row]]) -> None:
        """Replace everything with these rows (a restore); only while no instance runs."""

def open_cosigner_store(settings: Settings, records: TxStore | None = None) -> CosignerStore:
    """``records``: the process's records store; on SQLite its writer (same file) is shared, so
    the process keeps one writer thread per database file."""
    if settings.storage == "mongodb":
        from app.store.cosigners_mongo import MongoCosignerStore

        return MongoCosignerStore(settings.db.reveal())
    from app.store.cosigners_sqlite import SqliteCosignerStore
    from app.store.sqlite import SqliteStore

    path = settings.db.reveal()
    writer = (records.writer if isinstance(records, SqliteStore) and records.path == path
              else None)
    return SqliteCosignerStore(path, settings.sqlite_synchronous, writer,
                               settings.sqlite_busy_timeout)
