"""MongoDB engine of the co-signer store (collections ``auth_challenges``, ``subscriptions``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from app.store.cosigners import EventDelivery, Subscription
from app.store.mongo import client_options, insert_batches, snapshot_reads
from app.store.mongo_outages import outages_unavailable
from app.store.snapshot import (
    CHALLENGES,
    COSIGNER_KINDS,
    EVENTS,
    QUOTAS,
    SUBSCRIPTIONS,
    Kind,
    StoreExport,
    challenge_row,
    event_row,
    given,
    quota_row,
    row_event,
    row_subscription,
    subscription_row,
)


@outages_unavailable
class MongoCosignerStore:
    def __init__(self, uri: str, client: MongoClient[dict[str, Any]] | None = None) -> None:
        self._client: MongoClient[dict[str, Any]] = client or MongoClient(
            uri, appname="refractor", retryWrites=True, **client_options(uri))
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
        # Written once: a retried job that raised it writes it again.
        with contextlib.suppress(DuplicateKeyError):
            self.events_.insert_one(_event_doc(event))

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


    # -- snapshots (backups and restores): every collection, whole --

    snapshot_kinds: tuple[Kind, ...] = COSIGNER_KINDS

    @contextlib.contextmanager
    def export_snapshot(self) -> Iterator[StoreExport]:
        """Every collection in one snapshot session where the server has them (see MongoStore);
        the per-account subscription counters are not exported: an import recounts them."""
        with snapshot_reads(self._client) as (session, note):
            def each(collection: Collection[dict[str, Any]],
                     sort: list[tuple[str, int]] | None = None) -> Iterator[dict[str, Any]]:
                return iter(collection.find({}, session=session).sort(sort or [("_id", ASCENDING)]))

            yield StoreExport("per-document" if session is None else "snapshot", {
                CHALLENGES.name: (challenge_row(d["_id"], d["expires_at"])
                                  for d in each(self.challenges)),
                SUBSCRIPTIONS.name: (subscription_row(_subscription(d)) for d in each(self.subs)),
                EVENTS.name: (event_row(_event(d)) for d in each(self.events_)),
                QUOTAS.name: (quota_row(d["account"], d["window"], d["n"]) for d in each(
                    self.quota, [("account", ASCENDING), ("window", ASCENDING)])),
            }, note)

    def import_snapshot(self, collections: Mapping[str, Iterable[dict[str, Any]]]) -> None:
        for collection in (self.challenges, self.subs, self.counts, self.events_, self.quota):
            collection.delete_many({})
        insert_batches(self.challenges, ({"_id": r["id"], "expires_at": r["expires_at"]}
                                         for r in given(collections, CHALLENGES)))
        counts: dict[str, int] = {}

        def subscriptions() -> Iterator[dict[str, Any]]:
            for s in map(row_subscription, given(collections, SUBSCRIPTIONS)):
                counts[s.account] = counts.get(s.account, 0) + 1
                yield _subscription_doc(s)

        insert_batches(self.subs, subscriptions())
        # the per-account counters the subscription limit relies on
        insert_batches(self.counts, ({"_id": a, "n": n} for a, n in counts.items()))
        insert_batches(self.events_, (_event_doc(e)
                                      for e in map(row_event, given(collections, EVENTS))))
        insert_batches(self.quota, ({"_id": f"{r['account']}:{r['slot']}", "account": r["account"],
                                     "window": r["slot"], "n": r["n"]}
                                    for r in given(collections, QUOTAS)))


def _subscription(d: dict[str, Any]) -> Subscription:
    return Subscription(d["_id"], d["account"], d["url"], list(d["events"]), d["secret"],
                        d["created_at"])


def _subscription_doc(s: Subscription) -> dict[str, Any]:
    return {"_id": s.id, "account": s.account, "url": s.url, "events": s.events,
            "secret": s.secret, "created_at": s.created_at}


def _event_doc(event: EventDelivery) -> dict[str, Any]:
    return {"_id": event.id, "subscription": event.subscription, "account": event.account,
            "stream": event.stream, "type": event.type, "payload": event.payload,
            "created_at": event.created_at, "status": event.status, "attempts": event.attempts,
            "last_error": event.last_error, "log": event.log}


def _event(d: dict[str, Any]) -> EventDelivery:
    return EventDelivery(d["_id"], d["subscription"], d["account"], d["stream"], d["type"],
                         dict(d["payload"]), d["created_at"], d["status"], int(d["attempts"]),
                         d.get("last_error"), list(d.get("log") or []))
