"""Every query the API and the worker run is backed by an index (no full scans, no sorting of every
match), so their cost does not grow with the number of stored records.

The statements are not listed by hand: a representative workload runs through the real app (HTTP
API, worker threads, callbacks, cleanup) and the statements the store actually sent are captured,
then each one's plan is asked of the engine. On MongoDB, whose test server's planner is not mongod's,
every filter and sort is also checked against the indexes the store declared. Timings are measured
by bench/bench_growth.py, never here.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient, monitoring
from stellar_sdk import Keypair

from tests import loopback
from tests.app_server import app_settings, running_app
from tests.builders import payment_tx, signed
from tests.fakenet import FakeStellarNetwork
from tests.ports import free_port

ADMIN = {"Authorization": "Bearer " + "a" * 32}

# Statements whose plan sorts or walks more than a page, each with why that cannot grow with the
# number of stored records (or why it is accepted).
SQLITE_ACCEPTED = {
    "SELECT key, signature, added_at FROM signatures WHERE tx_hash":
        "sorts the signatures of one record (at most maxSignatures)",
    "SELECT tx_hash, key, signature, added_at FROM signatures WHERE tx_hash IN":
        "sorts the signatures of one listed page (page size x maxSignatures)",
    "SELECT * FROM jobs WHERE ref": "sorts the jobs of one record (its callbacks)",
    "SELECT ? FROM sqlite_master": "start-up schema check: the schema's own table, a few rows",
    "SELECT id, account, url, events, secret, created_at FROM subscriptions WHERE account IN":
        "sorts the webhook subscriptions of a record's accounts (each at most "
        "subscriptions.maxPerAccount)",
    "SELECT status, count(*) FROM txs GROUP BY status":
        "monitoring counts: walks the (status, ...) index once per metrics scrape, off the "
        "request and job paths",
    "SELECT state, count(*) FROM jobs WHERE kind":
        "monitoring counts: walks the (kind, state) index once per metrics scrape",
}


@pytest.fixture
def net() -> Iterator[FakeStellarNetwork]:
    with FakeStellarNetwork() as network:
        yield network


def workload(base: str, net: FakeStellarNetwork, delivery_attempted: Callable[[], bool]) -> None:
    """What users and the worker do: create, co-sign, read, list every way, submit, call back,
    look at monitoring, pause, clean up."""
    cosigner, src = Keypair.random(), Keypair.random()
    net.ledger.create_account(src.public_key, master_weight=1, low=2, med=2, high=2,
                              signers=[(cosigner.public_key, 1)])
    solo = Keypair.random()
    net.ledger.create_account(solo.public_key)
    dest = Keypair.random().public_key
    net.ledger.create_account(dest)
    hook = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: the delivery fails, is retried
    with loopback.client(base_url=base, timeout=30) as c:
        seq = net.ledger.get_account(src.public_key).seq_num  # type: ignore[union-attr]
        te = payment_tx(src, seq=seq, destination=dest)
        body = {"network": "testnet", "xdr": signed(te, src), "submit": True, "callbackUrl": hook}
        assert c.post("/tx", json=body).status_code == 200
        extra = payment_tx(src, seq=seq + 1, destination=dest)
        assert c.post("/tx", json={"network": "testnet", "xdr": signed(extra, src)}).status_code == 200
        assert c.get(f"/tx/{te.hash_hex()}").status_code == 200
        assert c.get("/tx/" + "ab" * 32).status_code == 404  # by hash, then by fee-bump inner hash
        for query in (f"account={src.public_key}", f"signer={cosigner.public_key}",
                      f"awaiting={cosigner.public_key}", f"account={src.public_key}&status=pending",
                      f"signer={cosigner.public_key}&network=testnet"):
            first = c.get(f"/tx?{query}&limit=1")
            assert first.status_code == 200, first.text
            cursor = first.json()["next"]
            if cursor:
                nxt = c.get(f"/tx?{query}&limit=1&cursor={cursor}")
                assert nxt.status_code == 200, nxt.text
        # The co-signer's signature makes it ready: the worker claims, submits, calls back.
        assert c.post("/tx", json={"network": "testnet",
                                   "xdr": signed(te, cosigner)}).status_code == 200
        # Ready but not to be submitted: processed by the worker, then submitted on request.
        solo_seq = net.ledger.get_account(solo.public_key).seq_num  # type: ignore[union-attr]
        manual = payment_tx(solo, seq=solo_seq, destination=dest)
        assert c.post("/tx", json={"network": "testnet",
                                   "xdr": signed(manual, solo)}).status_code == 200
        _until(lambda: c.get(f"/tx/{manual.hash_hex()}").json()["status"] == "processed")
        assert c.post(f"/tx/{manual.hash_hex()}/submit").status_code == 202
        for tx_hash in (te.hash_hex(), manual.hash_hex()):
            _until(lambda h=tx_hash: _submitted(c, h))  # type: ignore[misc]
        _until(delivery_attempted)
        assert c.get("/monitoring/metrics", headers=ADMIN).status_code == 200
        assert c.post("/monitoring/queue/pause", headers=ADMIN).status_code == 200
        assert c.post("/monitoring/queue/resume", headers=ADMIN).status_code == 200
        assert c.post("/monitoring/cleanup/expired", headers=ADMIN).status_code == 200


def _submitted(client: httpx.Client, tx_hash: str) -> bool:
    body = client.get(f"/tx/{tx_hash}").json()
    assert body["status"] != "failed", body
    return body["status"] == "processed" and body.get("submitted") is not None


def _until(check: Callable[[], bool], timeout: float = 180) -> None:
    """Wait for the worker (generously: on a loaded machine the MongoDB-wire test server's claims
    take seconds each)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the workload did not reach the expected state"
        time.sleep(0.05)


def _settings(net: FakeStellarNetwork, storage: str, db: str) -> Any:
    return app_settings(net.rpc_url, net.horizon_url, db, storage=storage, adminToken="a" * 32,
                        retryDelay=50, leaseSeconds=20,
                        callbacks={"allowPrivateNetworks": True, "timeout": 1, "attempts": 3})


# -- SQLite --

_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b|X'[0-9A-F]*'")


def shape(statement: str) -> str:
    """The statement with its literals replaced (the trace shows bound values expanded)."""
    return _LITERALS.sub("?", " ".join(statement.split()))


def sqlite_problems(conn: sqlite3.Connection, statement: str) -> list[str]:
    """Why the plan of ``statement`` can grow with the table, if it can."""
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement)]
    paged = bool(re.search(r"ORDER BY .* LIMIT", statement))
    problems = []
    for step in plan:
        full_scan = re.match(r"SCAN (\w+)( USING (COVERING )?INDEX \w+)?$", step)
        if full_scan and full_scan.group(1) != "CONSTANT":
            if full_scan.group(2) is None:
                problems.append(f"full table scan: {step}")
            elif not paged:  # an index walked in order and stopped at the page size is fine
                problems.append(f"walks a whole index: {step}")
        if step.startswith("USE TEMP B-TREE FOR ORDER BY"):
            problems.append("sorts every match before taking a page")
    return problems


def test_the_plan_check_catches_scans_and_sorts(tmp_path: Path) -> None:
    from app.store.sqlite import SqliteStore

    store = SqliteStore(str(tmp_path / "t.db"))
    store.ensure_schema()
    store.close()
    with sqlite3.connect(tmp_path / "t.db") as conn:
        assert sqlite_problems(conn, "SELECT * FROM txs WHERE xdr = 'x'")
        assert sqlite_problems(conn, "SELECT * FROM txs WHERE network = 'a' ORDER BY updated_at "
                                     "LIMIT 3")
        assert not sqlite_problems(conn, "SELECT * FROM txs WHERE hash = 'x'")


def test_sqlite_queries_of_the_api_and_worker_use_indexes(net: FakeStellarNetwork, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    lock = threading.Lock()
    real_connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(*args, **kwargs)

        def record(statement: str) -> None:
            with lock:
                statements.append(statement)

        conn.set_trace_callback(record)
        return conn

    monkeypatch.setattr(sqlite3, "connect", traced)
    db = tmp_path / "refractor.db"
    def attempted() -> bool:
        with closing(real_connect(db)) as conn:
            return bool(conn.execute("SELECT count(*) FROM jobs WHERE kind = 'deliver_callback' "
                                     "AND attempts > 0")
                        .fetchone()[0])

    with running_app(_settings(net, "sqlite", str(db))) as base:
        workload(base, net, attempted)
    monkeypatch.setattr(sqlite3, "connect", real_connect)

    queries: dict[str, str] = {}
    for statement in statements:
        if re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", statement, re.I):
            queries.setdefault(shape(statement), statement)
    assert any("tx_parties" in s and "ORDER BY" in s for s in queries), "no listing captured"
    assert any(s.startswith("DELETE") for s in queries), "no cleanup captured"
    failures = []
    with sqlite3.connect(db) as conn:
        for key, statement in sorted(queries.items()):
            problems = sqlite_problems(conn, statement)
            accepted = next((why for prefix, why in SQLITE_ACCEPTED.items()
                             if key.startswith(prefix)), None)
            if problems and accepted is None:
                failures.append(f"{key}\n    " + "\n    ".join(problems))
    assert not failures, "queries not backed by an index:\n" + "\n".join(failures)


# -- MongoDB --

SECANTUS_EXPLAIN = (
    "MongoDB explain() needs a real mongod: set REFRACTOR_TEST_MONGO_URL. The MongoDB-wire test "
    "server (SecantusDB) answers explain, but its planner is not mongod's: it reports COLLSCAN "
    "for updates by {_id, status} and for $or over two indexed fields, and sorts in memory after "
    "an index scan that already gives the order, so its plans would fail queries mongod serves "
    "from an index (and prove nothing about mongod's)")


class _Capture(monitoring.CommandListener):
    """Every command the app sends while ``active``; registered once per process (pymongo has no
    unregister), so it goes quiet afterwards."""

    def __init__(self) -> None:
        self.active = False
        self.commands: list[tuple[str, dict[str, Any]]] = []
        # The same, with the thread that sent each (listeners run in the sending thread).
        self.threaded: list[tuple[str, dict[str, Any], threading.Thread]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if self.active:
            self.commands.append((event.database_name, dict(event.command)))
            self.threaded.append((event.database_name, dict(event.command),
                                  threading.current_thread()))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_EXPLAINABLE = {"find", "update", "delete", "aggregate", "count", "findAndModify", "distinct"}
_SESSION_FIELDS = {"lsid", "$clusterTime", "$db", "txnNumber", "$readPreference", "readConcern",
                   "writeConcern", "autocommit", "startTransaction", "signature"}


def mongo_problems(client: MongoClient[dict[str, Any]], database: str,
                   command: dict[str, Any]) -> list[str]:
    name = next(iter(command))
    plain = {k: v for k, v in command.items() if k not in _SESSION_FIELDS}
    if name in ("update", "delete"):
        docs = plain.pop("updates" if name == "update" else "deletes", [])
        if not docs:
            return []
        plain["updates" if name == "update" else "deletes"] = docs[:1]
    explained = client[database].command("explain", plain, verbosity="queryPlanner")
    stages: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("stage") == "COLLSCAN":
                stages.append("COLLSCAN")
            if node.get("stage") == "SORT" and "limitAmount" not in node:
                stages.append("SORT of every match")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(explained.get("queryPlanner", explained).get("winningPlan", explained))
    return stages


def _query_part(name: str, command: dict[str, Any]) -> Any:
    """What decides the plan: the filter and sort (or the pipeline), not the values written."""
    if name == "update":
        return [u["q"] for u in command["updates"][:1]]
    if name == "delete":
        return [d["q"] for d in command["deletes"][:1]]
    if name == "aggregate":
        return command["pipeline"]
    return {k: command.get(k) for k in ("filter", "query", "sort")}


def _mongo_shape(value: Any) -> Any:
    """Field names and operators kept, values replaced."""
    if isinstance(value, dict):
        return {k: _mongo_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mongo_shape(v) for v in value]
    return "?"


@pytest.mark.mongo
def test_mongodb_queries_of_the_api_and_worker_use_indexes(net: FakeStellarNetwork) -> None:
    url = os.environ.get("REFRACTOR_TEST_MONGO_URL")
    if not url:
        pytest.skip(SECANTUS_EXPLAIN)
    capture = _Capture()
    monitoring.register(capture)
    db_name = "plans_" + uuid.uuid4().hex[:10]
    capture.active = True
    try:
        with running_app(_settings(net, "mongodb", url.rstrip("/") + "/" + db_name)) as base, \
                MongoClient(url) as observer:
            workload(base, net, lambda: observer[db_name]["jobs"].count_documents(
                {"kind": "deliver_callback", "attempts": {"$gt": 0}}) > 0)
    finally:
        capture.active = False
    failures = []
    with MongoClient(url) as client:
        seen: set[str] = set()
        for database, command in capture.commands:
            name = next(iter(command))
            if database != db_name or name not in _EXPLAINABLE:
                continue
            key = f"{name} {command[name]} {_mongo_shape(_query_part(name, command))}"
            if key in seen:
                continue
            seen.add(key)
            if name == "aggregate" and any("$group" in stage for stage in command["pipeline"]):
                continue  # monitoring counts, as on SQLite
            if name == "find" and set(command.get("filter", {})) == {"tx_hash"}:
                continue  # sorts the callbacks of one record, as on SQLite
            if name == "find" and command[name] == "subscriptions":
                continue  # a record's accounts' subscriptions, bounded per account, as on SQLite
            problems = mongo_problems(client, database, command)
            if problems:
                failures.append(f"{key[:300]}: {', '.join(problems)}")
        client.drop_database(db_name)
    assert seen, "no query captured"
    assert not failures, "queries not backed by an index:\n" + "\n".join(failures)


# -- MongoDB: every query against the indexes the store declares --

# Queries (collection, and a piece of their shape) that may sort or filter beyond an index, each
# with why that cannot grow with the number of stored records, as for SQLite.
MONGO_ACCEPTED = {
    ("subscriptions", "account"): "sorts the webhook subscriptions of a record's accounts (each at "
                                  "most subscriptions.maxPerAccount)",
    ("jobs", "lease_until"): "expired leases: the running jobs of one kind (at most the pools' "
                             "sizes), sorted with the due ones",
}
_RANGE = {"$lt", "$lte", "$gt", "$gte"}
_POINTS = {"$eq", "$in"}


def _conditions(flt: dict[str, Any]) -> tuple[set[str], set[str], list[list[dict[str, Any]]]]:
    """The fields an index can seek on: by points (equality, $in) and by range, and the $or
    clauses (each of whose branches needs an index of its own)."""
    points: set[str] = set()
    ranges: set[str] = set()
    ors: list[list[dict[str, Any]]] = []
    for name, value in flt.items():
        if name == "$and":
            for clause in value:
                p, r, o = _conditions(clause)
                points |= p
                ranges |= r
                ors += o
        elif name == "$or":
            ors.append(value)
        elif name.startswith("$"):
            continue
        elif isinstance(value, dict) and any(op.startswith("$") for op in value):
            if set(value) & _POINTS:
                points.add(name)
            elif set(value) & _RANGE:
                ranges.add(name)
            # $ne, $nin, $exists: no seek
        else:
            points.add(name)
    return points, ranges, ors


def index_problem(points: set[str], ranges: set[str], ors: list[list[dict[str, Any]]],
                  sort: list[tuple[str, int]], indexes: list[list[tuple[str, int]]]) -> str | None:
    """Why no declared index serves the query, or None. An index serves it when its first key is
    a filtered field (a seek, not a scan of everything), the sort keys follow the index's
    equality prefix in order (no sort of every match), and each ranged field is in that prefix
    or is the index's next key (no filtering of everything that matches the prefix)."""
    problem = "no index starts with a filtered field (a full scan)"
    for index in indexes:
        keys = [k for k, _ in index]
        if keys[0] not in points | ranges:
            continue
        prefix = 0
        while prefix < len(keys) and keys[prefix] in points:
            prefix += 1
        if sort:
            follows = index[prefix:prefix + len(sort)]
            same = [k for k, _ in follows] == [k for k, _ in sort]
            aligned = len({d * s for (_, d), (_, s) in zip(follows, sort, strict=False)}) == 1
            if not (same and aligned):
                problem = f"index {keys} does not give the order {sort} (a sort of every match)"
                continue
        if not ranges <= set(keys[:prefix + 1]):
            problem = f"index {keys} leaves {sorted(ranges - set(keys[:prefix + 1]))} to a filter"
            continue
        return None
    for branches in ors:  # an $or whose every branch is served, the other conditions with it
        if all(index_problem(points | p, ranges | r, o, sort, indexes) is None
               for p, r, o in (_conditions(b) for b in branches)):
            return None
    return problem


def mongo_query(name: str, command: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """The filter and sort of a command as the server plans it."""
    if name == "find":
        return dict(command.get("filter") or {}), list((command.get("sort") or {}).items())
    if name == "findAndModify":
        return dict(command.get("query") or {}), list((command.get("sort") or {}).items())
    if name == "update":
        return dict(command["updates"][0]["q"]), []
    if name == "delete":
        return dict(command["deletes"][0]["q"]), []
    if name in ("count", "distinct"):
        return dict(command.get("query") or {}), []
    first = (command.get("pipeline") or [{}])[0]  # aggregate
    return dict(first.get("$match") or {}), []


def test_the_index_check_catches_scans_sorts_and_unindexed_ranges() -> None:
    indexes = [[("_id", 1)], [("status", 1), ("updated_at", 1)],
               [("sources", 1), ("created_at", -1), ("_id", -1)]]

    def problem(flt: dict[str, Any], sort: list[tuple[str, int]] | None = None) -> str | None:
        return index_problem(*_conditions(flt), sort or [], indexes)

    assert problem({"_id": "x", "status": "pending"}) is None
    assert problem({"status": {"$in": ["a", "b"]}, "updated_at": {"$lt": 5}}) is None
    assert problem({"sources": "G"}, [("created_at", -1), ("_id", -1)]) is None
    assert problem({"sources": "G"}, [("created_at", 1), ("_id", 1)]) is None  # walked backwards
    assert problem({"$and": [{"$or": [{"sources": "G"}, {"_id": "x"}]}]}) is None
    assert problem({"network": "testnet"}) is not None  # no index: a full scan
    assert problem({"private": {"$ne": True}}) is not None  # $ne cannot seek
    assert problem({"$or": [{"sources": "G"}, {"network": "x"}]}) is not None  # one branch scans
    assert problem({"sources": "G"}, [("updated_at", 1)]) is not None  # sorted in memory
    assert problem({"status": "pending", "max_time": {"$lt": 5}}) is not None  # range unindexed


def _index_keys(client: MongoClient[dict[str, Any]], database: str,
                collection: str) -> list[list[tuple[str, int]]]:
    info = client[database][collection].index_information()
    return [[(k, int(d)) for k, d in spec["key"]] for spec in info.values()]


@pytest.mark.mongo
def test_mongodb_queries_of_the_api_and_worker_match_declared_indexes(
        net: FakeStellarNetwork, mongo_url: str) -> None:
    """The test server's explain() is not mongod's (see SECANTUS_EXPLAIN), so this checks what
    does not depend on a planner: every filter and sort the app sends (captured from the same
    workload) against the indexes ``ensure_schema`` declared, read back from the server."""
    capture = _Capture()
    monitoring.register(capture)
    db_name = "idx_" + uuid.uuid4().hex[:10]
    main = threading.current_thread()
    capture.active = True
    try:
        with running_app(_settings(net, "mongodb", mongo_url.rstrip("/") + "/" + db_name)) as base, \
                MongoClient(mongo_url) as observer:
            workload(base, net, lambda: observer[db_name]["jobs"].count_documents(
                {"kind": "deliver_callback", "attempts": {"$gt": 0}}) > 0)
    finally:
        capture.active = False
    failures = []
    checked: set[str] = set()
    with MongoClient(mongo_url) as client:
        indexes: dict[str, list[list[tuple[str, int]]]] = {}
        for database, command, thread in capture.threaded:
            name = next(iter(command))
            if database != db_name or name not in _EXPLAINABLE or thread is main:
                continue  # another test's, or the workload's own observer
            collection = str(command[name])
            flt, sort = mongo_query(name, command)
            if name == "aggregate" and not flt:
                continue  # monitoring counts ($group of everything), as on SQLite
            key = f"{name} {collection} {_mongo_shape(flt)} sort={sort}"
            if key in checked:
                continue
            checked.add(key)
            if collection not in indexes:
                indexes[collection] = _index_keys(client, database, collection)
            problem = index_problem(*_conditions(flt), sort, indexes[collection])
            accepted = any(c == collection and piece in key for c, piece in MONGO_ACCEPTED)
            if problem and not accepted:
                failures.append(f"{key[:300]}: {problem}")
        client.drop_database(db_name)
    assert any("find txs" in k and "sources" in k for k in checked), "no listing captured"
    assert any(k.startswith("find txs") and "updated_at" in k for k in checked), \
        "no cleanup captured"
    assert not failures, "queries no declared index serves:\n" + "\n".join(failures)
