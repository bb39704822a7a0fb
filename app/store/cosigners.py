"""Storage for signed-in co-signers: used SEP-10 challenges and webhook subscriptions.

Kept apart from the transaction store: different collections, different life cycles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.settings import Settings


@dataclass(slots=True)
class Subscription:
    id: str
    account: str  # the signed-in account that owns it
    url: str
    events: list[str]
    secret: str  # Standard Webhooks "whsec_..." secret; shown to the owner once, when created
    created_at: float


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

    def delete_subscription(self, account: str, subscription_id: str) -> bool:
        """Delete one of the account's subscriptions; False if it has none with that id."""

    def all_subscriptions(self) -> list[Subscription]:
        """Every subscription, by id (backups)."""

    def replace_subscriptions(self, subscriptions: list[Subscription]) -> None:
        """Make these the only subscriptions (a restore); only while no instance runs."""


def open_cosigner_store(settings: Settings) -> CosignerStore:
    if settings.storage == "mongodb":
        from app.store.cosigners_mongo import MongoCosignerStore

        return MongoCosignerStore(settings.db.reveal())
    from app.store.cosigners_sqlite import SqliteCosignerStore

    return SqliteCosignerStore(settings.db.reveal())
