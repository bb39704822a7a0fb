"""The production engine: MongoDB through pymongo (replica sets, Atlas, sharded clusters).

One document per transaction (``_id`` = hash) with its signatures embedded. A co-signer's request
is one read and one conditional ``update_one`` that appends the signatures and stores the view
computed from them (``add_evaluated``: it applies only while the record still has the signature
count and status that were read), so concurrent co-signers never overwrite each other. Claims use
``update_one`` with a status filter and check ``modified_count`` (cheaper than findAndModify on
every server we test against).

Durability is set here, not left to the URI: every write waits for a majority of the replica set
and the journal, and every read that decides something (claims, evaluations, lease checks) goes
to the primary with majority read concern, so a failover never rolls back an acknowledged write
or lets a process decide on data that may be rolled back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from bson import Binary
from pymongo import ASCENDING, DESCENDING, MongoClient, ReadPreference
from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.errors import ConfigurationError, DuplicateKeyError, InvalidOperation, OperationFailure
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from app.jobs.model import Job
from app.store.base import Page, TxQuery, evaluated
from app.store.mongo_jobs import MongoControlStore, MongoJobStore, _job, migrate_deliveries
from app.store.mongo_jobs import _doc as _job_doc
from app.store.mongo_outages import outages_unavailable
from app.store.mongo_values import from_bson, to_bson
from app.store.snapshot import (
    CONTROLS,
    JOBS,
    RECORDS,
    TX_KINDS,
    Kind,
    StoreExport,
    control_row,
    given,
    job_row,
    record_row,
    row_job,
    row_record,
)
from app.txs.model import StoredSignature, TxRecord, TxStatus

WRITE_CONCERN = WriteConcern(w="majority", j=True)
READ_CONCERN = ReadConcern("majority")

_FIELDS = (
    "inner_hash", "network", "xdr", "status", "submit", "callback_url", "desired_signers",
    "min_time", "max_time", "created_at", "updated_at", "ready_at", "submitted", "error", "result",
    "derived", "sig_count", "next_attempt_at", "sources", "signers", "private", "creator",
)


def _doc(record: TxRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": record.hash}
    for name in _FIELDS:
        value = getattr(record, name)
        doc[name] = value.value if isinstance(value, TxStatus) else value
    doc["derived"] = to_bson(doc["derived"])
    doc["signatures"] = [_sig_doc(s) for s in record.signatures]
    return doc


def _sig_doc(sig: StoredSignature) -> dict[str, Any]:
    return {"key": sig.key, "signature": Binary(sig.signature), "added_at": sig.added_at}


def _record(doc: dict[str, Any]) -> TxRecord:
    data: dict[str, Any] = {name: doc.get(name) for name in _FIELDS}
    data["status"] = TxStatus(data["status"])
    data["submit"] = bool(data["submit"])
    data["private"] = bool(data["private"])  # absent from documents written before it existed
    data["derived"] = from_bson(data["derived"] or {})
    data["sources"] = list(data["sources"] or [])
    data["signers"] = list(data["signers"] or [])
    data["sig_count"] = int(data["sig_count"] or 0)
    record = TxRecord(hash=doc["_id"], **data)
    record.signatures = [StoredSignature(s["key"], bytes(s["signature"]), s["added_at"])
                         for s in doc.get("signatures", [])]
    return record


def client_options(uri: str) -> dict[str, Any]:
    """Timeouts for a MongoClient, unless the URI sets them (``?serverSelectionTimeoutMS=``):
    an outage fails a request within seconds (a 503), never after pymongo's 30 s default."""
    query = uri.partition("?")[2].lower()
    given = {part.partition("=")[0] for part in query.split("&")}
    defaults = {"serverSelectionTimeoutMS": 5000, "connectTimeoutMS": 5000}
    return {k: v for k, v in defaults.items() if k.lower() not in given}


@outages_unavailable
class MongoStore:
    inline_reads = False
    engine = "mongodb"

    def __init__(self, uri: str, client: MongoClient[dict[str, Any]] | None = None) -> None:
        self._client: MongoClient[dict[str, Any]] = client or MongoClient(
            uri, appname="refractor", tz_aware=True, retryWrites=True, **client_options(uri))
        db = self._client.get_default_database(
            default="refractor", write_concern=WRITE_CONCERN, read_concern=READ_CONCERN,
            read_preference=ReadPreference.PRIMARY)
        self.txs: Collection[dict[str, Any]] = db["txs"]
        self.jobs = MongoJobStore(db["jobs"])
        self.controls = MongoControlStore(db["controls"])

    def __repr__(self) -> str:
        return f"MongoStore(db={self.txs.database.name!r})"  # never the URI: it may hold a password

    def close(self) -> None:
        self._client.close()

    def ensure_schema(self) -> None:
        # Fee-bump lookups take the oldest record with an inner hash straight from the index (not
        # sparse: a sparse compound index would still hold every record, by its created_at).
        self.txs.create_index([("inner_hash", ASCENDING), ("created_at", ASCENDING)],
                              name="inner_hash_created")
        # The expiry sweep seeks pending/ready records by maxTime instead of filtering them all.
        self.txs.create_index([("status", ASCENDING), ("max_time", ASCENDING)],
                              name="status_max_time")
        self.txs.create_index([("created_at", DESCENDING), ("_id", DESCENDING)], name="created")
        self.txs.create_index([("status", ASCENDING), ("updated_at", ASCENDING)],
                              name="status_updated")
        # Listings come newest first straight from an index, whatever the length of an account's
        # history (an $or over both merges the two in order).
        newest = [("created_at", DESCENDING), ("_id", DESCENDING)]
        self.txs.create_index([("sources", ASCENDING), *newest], name="sources_created")
        self.txs.create_index([("signers", ASCENDING), *newest], name="signers_created")
        self.txs.create_index([("status", ASCENDING), *newest], name="status_created")
        for superseded in ("sources", "signers", "inner_hash"):  # prefixes of the ones above
            with contextlib.suppress(OperationFailure):
                self.txs.drop_index(superseded)
        self.jobs.ensure_indexes()
        migrate_deliveries(self.txs.database, self.jobs)

    def ping(self) -> None:
        self._client.admin.command("ping")

    def insert(self, record: TxRecord, jobs: Sequence[Job] = ()) -> bool:
        try:
            self.txs.insert_one(_doc(record))
        except DuplicateKeyError:
            return False
        for job in jobs:
            self.jobs.add(job, rearm=True)
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
        if ready:
            # The view and the move to ready in one conditional write: a crash can never leave
            # a complete record pending.
            moved = self.txs.update_one(
                {"_id": tx_hash, "sig_count": sig_count, "status": TxStatus.PENDING.value},
                {"$set": {"derived": to_bson(derived), "status": TxStatus.READY.value,
                          "ready_at": now}})
            if moved.matched_count == 1:
                return True
        result = self.txs.update_one({"_id": tx_hash, "sig_count": sig_count},
                                     {"$set": {"derived": to_bson(derived)}})
        return result.matched_count == 1

    def add_evaluated(self, before: TxRecord, signatures: list[StoredSignature],
                      derived: dict[str, Any] | None, ready: bool, now: float,
                      jobs: Sequence[Job] = ()) -> TxRecord | None:
        after = evaluated(before, signatures, derived, ready, now)
        update: dict[str, Any] = {}
        if signatures:
            update["$push"] = {"signatures": {"$each": [_sig_doc(s) for s in signatures]}}
            update["$inc"] = {"sig_count": len(signatures)}
        sets = {name: getattr(after, name) for name in ("updated_at", "derived", "ready_at")
                if getattr(after, name) != getattr(before, name)}
        if after.status is not before.status:
            sets["status"] = after.status.value
        if "derived" in sets:
            sets["derived"] = to_bson(sets["derived"])
        if sets:
            update["$set"] = sets
        if not update:
            return after
        # update_one, not find_one_and_update: the written document is known from the filter, and
        # findAndModify costs more on every server we test against.
        result = self.txs.update_one(
            {"_id": before.hash, "sig_count": before.sig_count, "status": before.status.value},
            update)
        if result.matched_count != 1:
            return None
        for job in jobs:
            self.jobs.add(job, rearm=True)
        return after

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

    def delete_final_before(self, cutoff: float, limit: int) -> int:
        ids = [d["_id"] for d in self.txs.find(
            {"status": {"$in": [TxStatus.PROCESSED.value, TxStatus.FAILED.value]},
             "updated_at": {"$lt": cutoff}}, {"_id": 1}).limit(limit)]
        if not ids:
            return 0
        self.jobs.delete_finished_of(ids)  # their callbacks and logs go with them
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

    def hashes_with_status(self, status: TxStatus, limit: int) -> list[str]:
        return [d["_id"] for d in self.txs.find({"status": status.value}, {"_id": 1}).limit(limit)]

    # -- snapshots (backups and restores): every collection, whole --

    snapshot_kinds: tuple[Kind, ...] = TX_KINDS

    @contextlib.contextmanager
    def export_snapshot(self) -> Iterator[StoreExport]:
        """txs, jobs and controls in one snapshot session (replica sets and sharded clusters,
        5.0+: every read at the same cluster time); a standalone server cannot do that, so each
        document is then read consistent only with itself."""
        with snapshot_reads(self._client) as (session, note):
            db = self.txs.database
            yield StoreExport("per-document" if session is None else "snapshot", {
                RECORDS.name: (record_row(_record(d)) for d in
                               db["txs"].find({}, session=session).sort("_id", ASCENDING)),
                JOBS.name: (job_row(_job(d)) for d in
                            db["jobs"].find({}, session=session).sort("_id", ASCENDING)),
                CONTROLS.name: (control_row(d["_id"], dict(d.get("value") or {})) for d in
                                db["controls"].find({}, session=session).sort("_id", ASCENDING)),
            }, note)

    def import_snapshot(self, collections: Mapping[str, Iterable[dict[str, Any]]]) -> None:
        """Not atomic across documents: a restore keeps a safety backup for that reason."""
        db = self.txs.database
        for name in ("txs", "jobs", "controls"):
            db[name].delete_many({})
        insert_batches(db["txs"], (_doc(row_record(r)) for r in given(collections, RECORDS)))
        insert_batches(db["jobs"], (_job_doc(row_job(r)) for r in given(collections, JOBS)))
        insert_batches(db["controls"], ({"_id": r["name"], "value": r["value"]}
                                        for r in given(collections, CONTROLS)))


@contextlib.contextmanager
def snapshot_reads(client: MongoClient[dict[str, Any]]
                   ) -> Iterator[tuple[ClientSession | None, str | None]]:
    """A snapshot session, or None (and why) where the server has no snapshot reads."""
    try:
        session = client.start_session(snapshot=True)
    except (OperationFailure, ConfigurationError, InvalidOperation) as exc:
        yield None, f"MongoDB snapshot reads are unavailable ({exc}); read without one"
        return
    try:
        try:  # the first read is where a server without snapshot reads says so
            client.get_default_database(default="refractor")["controls"].find_one(
                {}, session=session)
        except (OperationFailure, ConfigurationError, InvalidOperation) as exc:
            yield None, f"MongoDB snapshot reads are unavailable ({exc}); read without one"
            return
        yield session, None
    finally:
        session.end_session()


def insert_batches(collection: Collection[dict[str, Any]], docs: Iterable[dict[str, Any]],
                   size: int = 500) -> None:
    batch: list[dict[str, Any]] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) >= size:
            collection.insert_many(batch, ordered=True)
            batch = []
    if batch:
        collection.insert_many(batch, ordered=True)


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.value if isinstance(v, TxStatus) else v) for k, v in fields.items()}
