"""The production engine: MongoDB through pymongo (replica sets, Atlas, sharded clusters).

One document per transaction (``_id`` = hash) with its signatures embedded. Each signature is added
by a single conditional ``update_one`` (``signatures.key`` not present, count below the limit), so
concurrent co-signers never overwrite each other. Claims use ``update_one`` with a status filter and
check ``modified_count`` (cheaper than findAndModify on every server we test against).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from bson import Binary
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, OperationFailure

from app.store.base import Page, TxQuery
from app.txs.model import Delivery, StoredSignature, TxRecord, TxStatus

_FIELDS = (
    "inner_hash", "network", "xdr", "status", "submit", "callback_url", "desired_signers",
    "min_time", "max_time", "created_at", "updated_at", "ready_at", "submitted", "error", "result",
    "derived", "sig_count", "attempts", "due_at", "lease_owner", "lease_until", "sources", "signers",
    "private", "creator",
)


def _doc(record: TxRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": record.hash}
    for name in _FIELDS:
        value = getattr(record, name)
        doc[name] = value.value if isinstance(value, TxStatus) else value
    doc["signatures"] = [_sig_doc(s) for s in record.signatures]
    return doc


def _sig_doc(sig: StoredSignature) -> dict[str, Any]:
    return {"key": sig.key, "signature": Binary(sig.signature), "added_at": sig.added_at}


def _record(doc: dict[str, Any]) -> TxRecord:
    data: dict[str, Any] = {name: doc.get(name) for name in _FIELDS}
    data["status"] = TxStatus(data["status"])
    data["submit"] = bool(data["submit"])
    data["private"] = bool(data["private"])  # absent from documents written before it existed
    data["derived"] = data["derived"] or {}
    data["sources"] = list(data["sources"] or [])
    data["signers"] = list(data["signers"] or [])
    data["sig_count"] = int(data["sig_count"] or 0)
    data["attempts"] = int(data["attempts"] or 0)
    record = TxRecord(hash=doc["_id"], **data)
    record.signatures = [StoredSignature(s["key"], bytes(s["signature"]), s["added_at"])
                         for s in doc.get("signatures", [])]
    return record


class MongoStore:
    inline_reads = False

    def __init__(self, uri: str, client: MongoClient[dict[str, Any]] | None = None) -> None:
        self._client: MongoClient[dict[str, Any]] = client or MongoClient(
            uri, appname="refractor", tz_aware=True, serverSelectionTimeoutMS=5000,
            connectTimeoutMS=5000, retryWrites=True)
        db = self._client.get_default_database(default="refractor")
        self.txs: Collection[dict[str, Any]] = db["txs"]
        self.controls: Collection[dict[str, Any]] = db["controls"]
        self.deliveries_: Collection[dict[str, Any]] = db["deliveries"]

    def __repr__(self) -> str:
        return f"MongoStore(db={self.txs.database.name!r})"  # never the URI: it may hold a password

    def close(self) -> None:
        self._client.close()

    def ensure_schema(self) -> None:
        self.txs.create_index([("inner_hash", ASCENDING)], name="inner_hash", sparse=True)
        self.txs.create_index([("status", ASCENDING), ("due_at", ASCENDING)], name="status_due")
        self.txs.create_index([("status", ASCENDING), ("lease_until", ASCENDING)], name="lease")
        self.txs.create_index([("created_at", DESCENDING), ("_id", DESCENDING)], name="created")
        self.txs.create_index([("status", ASCENDING), ("updated_at", ASCENDING)],
                              name="status_updated")
        # Listings come newest first straight from an index, whatever the length of an account's
        # history (an $or over both merges the two in order).
        newest = [("created_at", DESCENDING), ("_id", DESCENDING)]
        self.txs.create_index([("sources", ASCENDING), *newest], name="sources_created")
        self.txs.create_index([("signers", ASCENDING), *newest], name="signers_created")
        self.txs.create_index([("status", ASCENDING), *newest], name="status_created")
        for superseded in ("sources", "signers"):  # prefixes of the two above
            with contextlib.suppress(OperationFailure):
                self.txs.drop_index(superseded)
        self.deliveries_.create_index([("status", ASCENDING), ("due_at", ASCENDING)], name="due")
        self.deliveries_.create_index([("tx_hash", ASCENDING)], name="tx_hash")

    def ping(self) -> None:
        self._client.admin.command("ping")

    def insert(self, record: TxRecord) -> bool:
        try:
            self.txs.insert_one(_doc(record))
        except DuplicateKeyError:
            return False
        return True

    def get(self, tx_hash: str, by_inner: bool = True) -> TxRecord | None:
        doc = self.txs.find_one({"_id": tx_hash})
        if doc is None and by_inner:
            doc = self.txs.find_one({"inner_hash": tx_hash}, sort=[("created_at", ASCENDING)])
        return None if doc is None else _record(doc)

    def add_signatures(self, tx_hash: str, signatures: list[StoredSignature],
                       limit: int) -> list[StoredSignature]:
        added = []
        for sig in signatures:
            result = self.txs.update_one(
                {"_id": tx_hash, "signatures.key": {"$ne": sig.key}, "sig_count": {"$lt": limit}},
                {"$push": {"signatures": _sig_doc(sig)}, "$inc": {"sig_count": 1},
                 "$set": {"updated_at": sig.added_at}})
            if result.modified_count == 1:
                added.append(sig)
        return added

    def save_evaluation(self, tx_hash: str, sig_count: int, derived: dict[str, Any],
                        ready: bool, now: float) -> bool:
        result = self.txs.update_one({"_id": tx_hash, "sig_count": sig_count},
                                     {"$set": {"derived": derived}})
        if result.matched_count != 1:
            return False
        if ready:
            doc = self.txs.find_one({"_id": tx_hash}, {"min_time": 1}) or {}
            self.txs.update_one(
                {"_id": tx_hash, "status": TxStatus.PENDING.value},
                {"$set": {"status": TxStatus.READY.value, "ready_at": now,
                          "due_at": max(now, float(doc.get("min_time") or 0))}})
        return True

    def transition(self, tx_hash: str, expected: TxStatus, new: TxStatus,
                   fields: dict[str, Any]) -> bool:
        result = self.txs.update_one({"_id": tx_hash, "status": expected.value},
                                     {"$set": {"status": new.value, **_plain(fields)}})
        return result.modified_count == 1

    def update_fields(self, tx_hash: str, fields: dict[str, Any]) -> bool:
        return self.txs.update_one({"_id": tx_hash}, {"$set": _plain(fields)}).matched_count == 1

    def search(self, query: TxQuery) -> Page:
        flt: dict[str, Any] = {}
        clauses: list[dict[str, Any]] = []
        if query.account:
            clauses.append({"$or": [{"sources": query.account}, {"signers": query.account}]})
        if query.signer:
            flt["signers"] = query.signer
        if query.awaiting:
            clauses.append({"status": TxStatus.PENDING.value, "signers": query.awaiting,
                            "signatures.key": {"$ne": query.awaiting}})
        if query.status:
            flt["status"] = query.status.value
        if query.network:
            flt["network"] = query.network
        if query.viewer:
            clauses.append({"$or": [{"private": {"$ne": True}}, {"creator": query.viewer},
                                    {"sources": query.viewer}, {"signers": query.viewer}]})
        else:
            flt["private"] = {"$ne": True}
        if query.cursor:
            created, last = query.cursor
            clauses.append({"$or": [{"created_at": {"$lt": created}},
                                    {"created_at": created, "_id": {"$lt": last}}]})
        if clauses:
            flt["$and"] = clauses
        docs = list(self.txs.find(flt).sort([("created_at", DESCENDING), ("_id", DESCENDING)])
                    .limit(query.limit + 1))
        items = [_record(d) for d in docs[: query.limit]]
        more = len(docs) > query.limit
        return Page(items, (items[-1].created_at, items[-1].hash) if more and items else None)

    def iter_all(self) -> Iterator[TxRecord]:
        for doc in self.txs.find({}).sort("_id", ASCENDING):
            yield _record(doc)

    def restore(self, record: TxRecord) -> None:
        self.txs.replace_one({"_id": record.hash}, _doc(record), upsert=True)

    def count_by_status(self) -> dict[str, int]:
        return {d["_id"]: d["n"] for d in
                self.txs.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])}

    def claim_due(self, owner: str, now: float, lease_seconds: float, limit: int) -> list[TxRecord]:
        due = {"$or": [{"status": TxStatus.READY.value, "due_at": {"$lte": now}},
                       {"status": TxStatus.PROCESSING.value, "lease_until": {"$lt": now}}]}
        claimed = []
        for doc in self.txs.find(due, {"_id": 1, "status": 1, "lease_until": 1}).limit(limit):
            guard = {"_id": doc["_id"], "status": doc["status"]}
            if doc["status"] == TxStatus.PROCESSING.value:
                guard["lease_until"] = doc.get("lease_until")
            result = self.txs.update_one(guard, {
                "$set": {"status": TxStatus.PROCESSING.value, "lease_owner": owner,
                         "lease_until": now + lease_seconds, "updated_at": now},
                "$inc": {"attempts": 1}})
            if result.modified_count == 1:
                record = self.get(doc["_id"])
                if record is not None:
                    claimed.append(record)
        return claimed

    def release(self, tx_hash: str, owner: str, fields: dict[str, Any]) -> bool:
        result = self.txs.update_one(
            {"_id": tx_hash, "lease_owner": owner, "status": TxStatus.PROCESSING.value},
            {"$set": {"lease_owner": None, "lease_until": None, **_plain(fields)}})
        return result.modified_count == 1

    def delete_final_before(self, cutoff: float, limit: int) -> int:
        ids = [d["_id"] for d in self.txs.find(
            {"status": {"$in": [TxStatus.PROCESSED.value, TxStatus.FAILED.value]},
             "updated_at": {"$lt": cutoff}}, {"_id": 1}).limit(limit)]
        if not ids:
            return 0
        self.deliveries_.delete_many({"tx_hash": {"$in": ids}, "status": {"$ne": "pending"}})
        return self.txs.delete_many({"_id": {"$in": ids}}).deleted_count

    def delete_unsigned_before(self, cutoff: float, limit: int) -> int:
        ids = [d["_id"] for d in self.txs.find(
            {"status": TxStatus.PENDING.value, "sig_count": 0, "created_at": {"$lt": cutoff}},
            {"_id": 1}).limit(limit)]
        return self.txs.delete_many({"_id": {"$in": ids}}).deleted_count if ids else 0

    def expired(self, now: float, limit: int) -> list[str]:
        return [d["_id"] for d in self.txs.find(
            {"status": {"$in": [TxStatus.PENDING.value, TxStatus.READY.value]},
             "max_time": {"$gt": 0, "$lt": now}}, {"_id": 1}).limit(limit)]

    # -- callbacks --

    def add_delivery(self, delivery: Delivery) -> bool:
        doc = {f: getattr(delivery, f) for f in _DELIVERY_FIELDS}
        doc["_id"] = delivery.id
        try:
            self.deliveries_.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    def claim_deliveries(self, owner: str, now: float, lease_seconds: float,
                         limit: int) -> list[Delivery]:
        due = {"status": "pending", "due_at": {"$lte": now},
               "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]}
        claimed = []
        for doc in self.deliveries_.find(due).limit(limit):
            result = self.deliveries_.update_one(
                {"_id": doc["_id"], "lease_until": doc.get("lease_until")},
                {"$set": {"lease_owner": owner, "lease_until": now + lease_seconds}})
            if result.modified_count == 1:
                doc.update(lease_owner=owner, lease_until=now + lease_seconds)
                claimed.append(_delivery(doc))
        return claimed

    def finish_attempt(self, delivery_id: str, owner: str, attempt: dict[str, Any],
                       fields: dict[str, Any]) -> bool:
        result = self.deliveries_.update_one(
            {"_id": delivery_id, "lease_owner": owner},
            {"$push": {"log": attempt},
             "$set": {"lease_owner": None, "lease_until": None, **fields}})
        return result.modified_count == 1

    def deliveries(self, tx_hash: str) -> list[Delivery]:
        return [_delivery(d) for d in
                self.deliveries_.find({"tx_hash": tx_hash}).sort("created_at", ASCENDING)]

    def delivery_counts(self) -> dict[str, int]:
        return {d["_id"]: d["n"] for d in
                self.deliveries_.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])}

    def get_control(self, name: str) -> dict[str, Any] | None:
        doc = self.controls.find_one({"_id": name})
        return None if doc is None else dict(doc.get("value") or {})

    def set_control(self, name: str, value: dict[str, Any]) -> None:
        self.controls.update_one({"_id": name}, {"$set": {"value": value}}, upsert=True)

    # -- backups --

    def iter_deliveries(self) -> Iterator[Delivery]:
        for doc in self.deliveries_.find({}).sort("_id", ASCENDING):
            yield _delivery(doc)

    def restore_delivery(self, delivery: Delivery) -> None:
        doc = {f: getattr(delivery, f) for f in _DELIVERY_FIELDS}
        self.deliveries_.replace_one({"_id": delivery.id}, doc, upsert=True)

    def all_controls(self) -> dict[str, dict[str, Any]]:
        return {d["_id"]: dict(d.get("value") or {})
                for d in self.controls.find({}).sort("_id", ASCENDING)}

    def clear(self) -> None:
        for collection in (self.txs, self.deliveries_, self.controls):
            collection.delete_many({})


_DELIVERY_FIELDS = ("tx_hash", "url", "payload", "created_at", "due_at", "status", "attempts",
                    "last_error", "log", "lease_owner", "lease_until")


def _delivery(doc: dict[str, Any]) -> Delivery:
    fields: dict[str, Any] = {f: doc.get(f) for f in _DELIVERY_FIELDS}
    fields["log"] = list(fields["log"] or [])
    return Delivery(id=doc["_id"], **fields)


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, TxStatus) else v) for k, v in fields.items()}
