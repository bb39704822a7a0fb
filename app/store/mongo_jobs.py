"""The jobs and controls collections of the MongoDB engine.

A claim is one ``update_many`` over the jobs it read, conditional on their still being due (state
and ``due_at``, or an expired lease); every write after it is conditional on ``lease_owner``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection as MongoCollection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from app.jobs.claims import ClaimPlan
from app.jobs.model import Job, JobState
from app.store.mongo_outages import outages_unavailable
from app.webhooks.delivery import receiver_host

_FIELDS = ("kind", "ref", "group", "state", "due_at", "attempts", "data", "log", "last_error",
           "lease_owner", "lease_until", "rearm", "event", "created_at", "updated_at")
_WAITING = [JobState.QUEUED.value, JobState.RETRY_WAIT.value, JobState.WAITING.value]
_ACTIVE = [*_WAITING, JobState.RUNNING.value]
_FINAL = [JobState.SUCCEEDED.value, JobState.DEAD.value]


def _doc(job: Job) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": job.id}
    for name in _FIELDS:
        value = getattr(job, name)
        doc[name] = value.value if isinstance(value, JobState) else value
    return doc


def _job(doc: dict[str, Any]) -> Job:
    values: dict[str, Any] = {name: doc.get(name) for name in _FIELDS}
    values["state"] = JobState(values["state"])
    values["attempts"] = int(values["attempts"] or 0)
    values["data"] = dict(values["data"] or {})
    values["log"] = list(values["log"] or [])
    values["rearm"] = bool(values["rearm"])
    return Job(id=doc["_id"], **values)


def _fresh(now: float) -> dict[str, Any]:
    """A job due to start (queued, waiting for a retry or an event)."""
    return {"state": {"$in": _WAITING}, "due_at": {"$lte": now}}


def _taken_over(now: float) -> dict[str, Any]:
    """A running job whose holder stopped renewing its lease."""
    return {"state": JobState.RUNNING.value, "lease_until": {"$lt": now}}


@outages_unavailable
class MongoJobStore:
    def __init__(self, jobs: MongoCollection[dict[str, Any]]) -> None:
        self._jobs = jobs

    def ensure_indexes(self) -> None:
        self._jobs.create_index([("kind", ASCENDING), ("state", ASCENDING), ("due_at", ASCENDING)],
                                name="due")
        self._jobs.create_index([("kind", ASCENDING), ("state", ASCENDING),
                                 ("lease_until", ASCENDING)], name="lease")
        self._jobs.create_index([("ref", ASCENDING), ("kind", ASCENDING)], name="ref")
        self._jobs.create_index([("event", ASCENDING)], name="event", sparse=True)
        self._jobs.create_index([("state", ASCENDING), ("updated_at", ASCENDING)], name="final")

    def add(self, job: Job, rearm: bool = False) -> bool:
        try:
            self._jobs.insert_one(_doc(job))
            return True
        except DuplicateKeyError:
            if not rearm:
                return False
        now = job.updated_at
        rearms: list[tuple[dict[str, Any], dict[str, Any]]] = [
            ({"_id": job.id, "state": {"$in": _WAITING}},
             {"$min": {"due_at": job.due_at},
              "$set": {"state": JobState.QUEUED.value, "event": None, "updated_at": now}}),
            ({"_id": job.id, "state": JobState.RUNNING.value},
             {"$set": {"rearm": True, "due_at": job.due_at, "updated_at": now}}),
            ({"_id": job.id, "state": {"$in": _FINAL}},
             {"$set": {"state": JobState.QUEUED.value, "due_at": job.due_at, "attempts": 0,
                       "data": job.data, "last_error": None, "event": None,
                       "updated_at": now}}),
        ]
        # One of the three matches the job's state, unless it changed between them (a running
        # job finished, say): then look again, so a re-arm is never lost.
        for _ in range(3):
            for query, change in rearms:
                if self._jobs.update_one(query, change).matched_count == 1:
                    return False
        return False

    def claim(self, kind: str, owner: str, now: float, lease_seconds: float, limit: int,
              skip_groups: Collection[str] = (), per_group: int | None = None) -> list[Job]:
        due: dict[str, Any] = {"kind": kind, "$or": [_fresh(now), _taken_over(now)]}
        plan = ClaimPlan.start(limit, skip_groups, per_group)
        claimed: list[Job] = []
        # Rounds of reading at most the number still wanted, longest overdue first, with the
        # groups at their cap left out of the query (app/jobs/claims.py decides which).
        while (read := plan.next_read()) is not None:
            want, skip = read
            query = {**due, "group": {"$nin": skip}} if skip else due
            docs = list(self._jobs.find(query, {"_id": 1, "group": 1, "state": 1})
                        .sort("due_at", ASCENDING).limit(want))
            chosen = plan.choose([(d["_id"], d.get("group")) for d in docs])
            running = {d["_id"] for d in docs if d["state"] == JobState.RUNNING.value}
            taken = self._take(chosen, running, kind, owner, now, lease_seconds)
            plan.leased(len(taken))
            claimed += taken
        return claimed

    def _take(self, ids: list[str], running: set[str], kind: str, owner: str, now: float,
              lease_seconds: float) -> list[Job]:
        """Lease those of ``ids`` still due: conditional updates (a job another process claimed
        meanwhile is not due any more), then read what this claim leased. A job started afresh
        opens an attempt; one taken over after its lease ran out (``running`` when it was read)
        continues the attempt its holder opened (docs/architecture.md, "Background work"). One
        update for each of the two that ``ids`` holds: usually only fresh jobs, one round trip."""
        if not ids:
            return []
        lease_until = now + lease_seconds
        leased = {"state": JobState.RUNNING.value, "lease_owner": owner,
                  "lease_until": lease_until, "event": None, "updated_at": now}
        fresh = [i for i in ids if i not in running]
        over = [i for i in ids if i in running]
        if fresh:
            self._jobs.update_many({"kind": kind, "_id": {"$in": fresh}, **_fresh(now)},
                                   {"$set": leased, "$inc": {"attempts": 1}})
        if over:
            self._jobs.update_many({"kind": kind, "_id": {"$in": over}, **_taken_over(now)},
                                   {"$set": leased})
        order = {job_id: i for i, job_id in enumerate(ids)}
        mine = self._jobs.find({"_id": {"$in": ids}, "lease_owner": owner,
                                "state": JobState.RUNNING.value, "lease_until": lease_until})
        return sorted((_job(d) for d in mine), key=lambda job: order[job.id])

    def renew(self, job_id: str, owner: str, lease_until: float) -> bool:
        result = self._jobs.update_one(
            {"_id": job_id, "lease_owner": owner, "state": JobState.RUNNING.value},
            {"$set": {"lease_until": lease_until}})
        return result.matched_count == 1

    def finish(self, job_id: str, owner: str, now: float, state: JobState, *,
               due_at: float | None = None, error: str | None = None,
               entry: dict[str, Any] | None = None, event: str | None = None,
               uncount: bool = False) -> bool:
        held = {"_id": job_id, "lease_owner": owner, "state": JobState.RUNNING.value}
        update: dict[str, Any] = {"$set": {"lease_owner": None, "lease_until": None,
                                           "last_error": error, "updated_at": now,
                                           "rearm": False}}
        if entry is not None:
            update["$push"] = {"log": entry}
        if uncount:
            update["$inc"] = {"attempts": -1}
        fields: dict[str, Any] = {"state": state.value, "event": event}
        if due_at is not None:
            fields["due_at"] = due_at
        if not state.final:
            result = self._jobs.update_one(held, {**update, "$set": {**update["$set"], **fields}})
            return result.matched_count == 1
        # Not enqueued again while it ran (the usual case, one update)...
        result = self._jobs.update_one({**held, "rearm": {"$ne": True}},
                                       {**update, "$set": {**update["$set"], **fields}})
        if result.matched_count == 1:
            return True
        # ...or it was: it goes back to the queue instead of finishing.
        rearmed = self._jobs.update_one({**held, "rearm": True}, {
            **update, "$set": {**update["$set"], "state": JobState.QUEUED.value,
                               "event": None}, "$min": {"due_at": now}})
        return rearmed.matched_count == 1

    def signal(self, event: str, now: float) -> int:
        result = self._jobs.update_many(
            {"event": event, "state": JobState.WAITING.value},
            {"$set": {"state": JobState.QUEUED.value, "due_at": now, "event": None,
                      "updated_at": now}})
        return result.modified_count

    def get(self, job_id: str) -> Job | None:
        doc = self._jobs.find_one({"_id": job_id})
        return None if doc is None else _job(doc)

    def for_ref(self, ref: str, kind: str) -> list[Job]:
        return [_job(d) for d in self._jobs.find({"ref": ref, "kind": kind})
                .sort([("created_at", ASCENDING), ("_id", ASCENDING)])]

    def active_refs(self, kind: str, refs: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(refs), 500):
            batch = refs[start:start + 500]
            found.update(str(d["ref"]) for d in self._jobs.find(
                {"kind": kind, "ref": {"$in": batch}, "state": {"$in": _ACTIVE}}, {"ref": 1}))
        return found

    def counts(self, kind: str) -> dict[str, int]:
        return {d["_id"]: d["n"] for d in self._jobs.aggregate(
            [{"$match": {"kind": kind}}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}])}

    def delete_final_before(self, cutoff: float, limit: int) -> int:
        ids = [d["_id"] for d in self._jobs.find(
            {"state": {"$in": _FINAL}, "updated_at": {"$lt": cutoff}}, {"_id": 1}).limit(limit)]
        return self._jobs.delete_many({"_id": {"$in": ids}}).deleted_count if ids else 0

    def delete_finished_of(self, refs: list[str]) -> None:
        """Delete the succeeded/dead jobs of these records (deleted by retention)."""
        self._jobs.delete_many({"ref": {"$in": refs}, "state": {"$in": _FINAL}})

    def put(self, job: Job) -> None:
        self._jobs.replace_one({"_id": job.id}, _doc(job), upsert=True)


@outages_unavailable
class MongoControlStore:
    def __init__(self, controls: MongoCollection[dict[str, Any]]) -> None:
        self._controls = controls

    def get(self, name: str) -> dict[str, Any] | None:
        doc = self._controls.find_one({"_id": name})
        return None if doc is None else dict(doc.get("value") or {})

    def set(self, name: str, value: dict[str, Any]) -> None:
        self._controls.update_one({"_id": name}, {"$set": {"value": value}}, upsert=True)


_STATES = {"pending": JobState.QUEUED, "delivered": JobState.SUCCEEDED, "failed": JobState.DEAD}


def migrate_deliveries(db: Database[dict[str, Any]], jobs: MongoJobStore) -> None:
    """Move callbacks from the collection used before the job queue into jobs, once."""
    if "deliveries" not in db.list_collection_names():
        return
    old = db["deliveries"]
    for doc in old.find({}):
        jobs.add(Job(id=f"deliver_callback:{doc['_id']}", kind="deliver_callback",
                     due_at=float(doc.get("due_at") or 0), created_at=float(doc["created_at"]),
                     updated_at=float(doc["created_at"]), ref=doc.get("tx_hash"),
                     group=receiver_host(str(doc.get("url") or "")),
                     state=_STATES.get(str(doc.get("status")), JobState.QUEUED),
                     attempts=int(doc.get("attempts") or 0),
                     data={"url": doc.get("url"), "payload": doc.get("payload"),
                           "msgId": doc["_id"]},
                     log=list(doc.get("log") or []), last_error=doc.get("last_error")))
    old.drop()
