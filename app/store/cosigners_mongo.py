"""MongoDB engine of the co-signer store (collections ``auth_challenges``, ``subscriptions``)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from app.store.cosigners import EventDelivery, Subscription


class MongoCosignerStore:
    def __init__(self, uri: str, client: MongoClient[dict[str, Any]] | None = None) -> None:
        self._client: MongoClient[dict[str, Any]] = client or MongoClient(
            uri, appname="refractor", serverSelectionTimeoutMS=5000, connectTimeoutMS=5000,
            retryWrites=True)
        db = self._client.get_default_database(default="refractor")
        self.challenges: Collection[dict[str, Any]] = db["auth_challenges"]
        self.subs: Collection[dict[str, Any]] = db["subscriptions"]
        # One document per account holding its subscription count: the limit is enforced by a
        # single conditional update, so concurrent requests cannot overshoot it.
        self.counts: Collection[dict[str, Any]] = db["subscription_counts"]
        self.events_: Collection[dict[str, Any]] = db["subscription_events"]
        self.quota: Collection[dict[str, Any]] = db["event_quota"]

    def __repr__(self) -> str:
        return f"MongoCosignerStore(db={self.subs.database.name!r})"

    def ensure_schema(self) -> None:
        self.challenges.create_index([("expires_at", ASCENDING)], name="expiry")
        self.subs.create_index([("account", ASCENDING), ("created_at", ASCENDING)], name="account")
        self.events_.create_index([("subscription", ASCENDING), ("stream", ASCENDING),
                                   ("status", ASCENDING), ("created_at", ASCENDING)],
                                  name="stream")
        self.events_.create_index([("subscription", ASCENDING), ("created_at", ASCENDING)],
                                  name="log")
        self.events_.create_index([("created_at", ASCENDING)], name="age")

    def close(self) -> None:
        self._client.close()

    def use_challenge(self, challenge_id: str, expires_at: float, now: float) -> bool:
        self.challenges.delete_many({"expires_at": {"$lt": now}})
        try:
            self.challenges.insert_one({"_id": challenge_id, "expires_at": expires_at})
        except DuplicateKeyError:
            return False
        return True

    def add_subscription(self, subscription: Subscription, limit: int) -> bool:
        try:
            self.counts.update_one({"_id": subscription.account, "n": {"$lt": limit}},
                                   {"$inc": {"n": 1}}, upsert=True)
        except DuplicateKeyError:  # the account's counter exists and is at the limit
            return False
        self.subs.insert_one({"_id": subscription.id, "account": subscription.account,
                              "url": subscription.url, "events": subscription.events,
                              "secret": subscription.secret,
                              "created_at": subscription.created_at})
        return True

    def subscriptions(self, account: str) -> list[Subscription]:
        return self.subscriptions_for([account])

    def subscriptions_for(self, accounts: list[str]) -> list[Subscription]:
        if not accounts:
            return []
        docs = self.subs.find({"account": {"$in": accounts}}).sort(
            [("created_at", ASCENDING), ("_id", ASCENDING)])
        return [Subscription(d["_id"], d["account"], d["url"], list(d["events"]), d["secret"],
                             d["created_at"]) for d in docs]

    def get_subscription(self, subscription_id: str) -> Subscription | None:
        d = self.subs.find_one({"_id": subscription_id})
        return None if d is None else Subscription(d["_id"], d["account"], d["url"],
                                                   list(d["events"]), d["secret"], d["created_at"])

    def delete_subscription(self, account: str, subscription_id: str) -> bool:
        result = self.subs.delete_one({"_id": subscription_id, "account": account})
        if result.deleted_count != 1:
            return False
        self.counts.update_one({"_id": account, "n": {"$gt": 0}}, {"$inc": {"n": -1}})
        self.events_.delete_many({"subscription": subscription_id})
        return True

    def all_subscriptions(self) -> list[Subscription]:
        return [Subscription(d["_id"], d["account"], d["url"], list(d["events"]), d["secret"],
                             d["created_at"]) for d in self.subs.find({}).sort("_id", ASCENDING)]

    def replace_subscriptions(self, subscriptions: list[Subscription]) -> None:
        self.subs.delete_many({})
        self.counts.delete_many({})
        counts: dict[str, int] = {}
        for s in subscriptions:
            self.subs.insert_one({"_id": s.id, "account": s.account, "url": s.url,
                                  "events": s.events, "secret": s.secret,
                                  "created_at": s.created_at})
            counts[s.account] = counts.get(s.account, 0) + 1
        for account, n in counts.items():  # the per-account counters the limit relies on
            self.counts.insert_one({"_id": account, "n": n})

    def take_quota(self, account: str, window: int, limit: int) -> bool:
        key = f"{account}:{window}"
        self.quota.delete_many({"account": account, "window": {"$lt": window}})
        try:
            self.quota.update_one({"_id": key, "n": {"$lt": limit}},
                                  {"$inc": {"n": 1}, "$setOnInsert": {"account": account,
                                                                      "window": window}},
                                  upsert=True)
        except DuplicateKeyError:  # the window's counter exists and is at the limit
            return False
        return True

    def add_event(self, event: EventDelivery) -> None:
        self.events_.insert_one({"_id": event.id, "subscription": event.subscription,
                                 "account": event.account, "stream": event.stream,
                                 "type": event.type, "payload": event.payload,
                                 "created_at": event.created_at, "status": event.status,
                                 "attempts": event.attempts, "last_error": event.last_error,
                                 "log": event.log})

    def pending_events(self, subscription_id: str, stream: str) -> list[EventDelivery]:
        docs = self.events_.find({"subscription": subscription_id, "stream": stream,
                                  "status": "pending"}).sort([("created_at", ASCENDING),
                                                              ("_id", ASCENDING)])
        return [_event(d) for d in docs]

    def finish_event(self, event_id: str, status: str, entry: dict[str, Any],
                     error: str | None) -> None:
        self.events_.update_one({"_id": event_id}, {
            "$set": {"status": status, "last_error": error}, "$inc": {"attempts": 1},
            "$push": {"log": entry}})

    def events(self, subscription_id: str, limit: int) -> list[EventDelivery]:
        docs = self.events_.find({"subscription": subscription_id}).sort(
            [("created_at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
        return [_event(d) for d in docs]

    def delete_events_before(self, cutoff: float) -> int:
        result = self.events_.delete_many({"created_at": {"$lt": cutoff},
                                           "status": {"$ne": "pending"}})
        return int(result.deleted_count)


def _event(d: dict[str, Any]) -> EventDelivery:
    return EventDelivery(d["_id"], d["subscription"], d["account"], d["stream"], d["type"],
                         dict(d["payload"]), d["created_at"], d["status"], int(d["attempts"]),
                         d.get("last_error"), list(d.get("log") or []))
