"""Webhook subscriptions of signed-in accounts: which events, to which URL, with which secret."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable
from typing import Any

from app.cosigners.events import EVENT_TYPES
from app.errors import Conflict, NotFound, ValidationFailed
from app.settings import Settings
from app.store.cosigners import CosignerStore, Subscription
from app.txs.params import parse_callback_url

LOG_LIMIT = 100
EVENTS = EVENT_TYPES


def new_secret() -> str:
    """A Standard Webhooks secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def public_view(sub: Subscription) -> dict[str, Any]:
    return {"id": sub.id, "url": sub.url, "events": sub.events, "createdAt": int(sub.created_at)}


class Subscriptions:
    def __init__(self, settings: Settings, store: CosignerStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.limit = settings.subscriptions.max_per_account
        self.allow_private = settings.callbacks.allow_private_networks
        self.store = store
        self.clock = clock
        self.test_sender: Callable[[Subscription], str] | None = None  # set with the notifier

    def create(self, account: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            url = parse_callback_url(body.get("url"), self.allow_private)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message.replace('"callbackUrl"', '"url"'), "url") from None
        if url is None:
            raise ValidationFailed('"url" is required: the http(s) URL that receives the events.',
                                   "url")
        events = body.get("events")
        if (not isinstance(events, list) or not events
                or not all(isinstance(e, str) and e in EVENTS for e in events)):
            raise ValidationFailed(f'"events" must be a non-empty list of: {", ".join(EVENTS)}.',
                                   "events")
        sub = Subscription(id="sub_" + secrets.token_hex(12), account=account, url=url,
                           events=list(dict.fromkeys(events)), secret=new_secret(),
                           created_at=self.clock())
        if not self.store.add_subscription(sub, self.limit):
            raise Conflict(f"An account can have at most {self.limit} subscriptions; delete one "
                           "first")
        return {**public_view(sub), "secret": sub.secret}

    def of(self, account: str) -> list[dict[str, Any]]:
        return [public_view(s) for s in self.store.subscriptions(account)]

    def owned(self, account: str, subscription_id: str) -> Subscription:
        sub = self.store.get_subscription(subscription_id)
        if sub is None or sub.account != account:
            raise NotFound(f"Subscription {subscription_id[:40]} not found.")
        return sub

    def deliveries(self, account: str, subscription_id: str) -> list[dict[str, Any]]:
        """The subscription's delivery log, newest first (its owner's view)."""
        sub = self.owned(account, subscription_id)
        return [{"id": e.id, "type": e.type, "hash": e.payload.get("data", {}).get("hash"),
                 "createdAt": int(e.created_at), "status": e.status, "attempts": e.attempts,
                 "lastError": e.last_error, "log": e.log}
                for e in self.store.events(sub.id, LOG_LIMIT)]

    def send_test(self, account: str, subscription_id: str) -> dict[str, str]:
        sub = self.owned(account, subscription_id)
        if self.test_sender is None:
            raise Conflict("Events cannot be sent: this server runs no job queue")
        return {"id": self.test_sender(sub)}

    def delete(self, account: str, subscription_id: str) -> None:
        if not self.store.delete_subscription(account, subscription_id):
            raise NotFound(f"Subscription {subscription_id[:40]} not found.")
