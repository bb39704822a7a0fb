"""How costs grow with the number of stored records, on SQLite and on the MongoDB engine.

    .venv/bin/python bench/bench_growth.py [--sizes 10000,100000,1000000] [--engines sqlite]
                                           [--mongo-sizes 1000,10000] [--samples 300]
                                           [--rounds 5] [--cache ~/.cache/refractor-bench]

Each size is a store of records shaped like real ones (an envelope, its signed copy, summary and
progress as the API stores them; 1-3 signatures; statuses 75 % processed, 10 % failed, 15 %
pending; created over the last 25 days; a finished submission job for every record that left
``pending``), one busy account holding a tenth of them as source. SQLite datasets are written once
with the engine's own row functions (the rows ``insert`` and ``jobs.put`` write, many records per
transaction), kept under ``--cache`` by size, seed and generator version, and copied for each run;
on MongoDB they go through the store's bulk import. A sample of each is read back through the
store and compared. All sizes are loaded first, then measured in ``--rounds`` turns between them,
so the machine's changing load falls on every size alike. It reports, per operation, the median
and p99 in milliseconds and the median's ratio to the smallest size:

- GET by hash: the store read plus the JSON view, for random stored hashes;
- POST add a signature: the whole use case (parse, check, write, evaluate) adding the second
  co-signer's signature to a real pending transaction (accounts cached: the store's share is
  what grows);
- ``GET /tx?account=<busy>``: first page, and a page from a cursor half-way through its history;
- the worker's claim of due submission jobs (batches of 50 out of 500 due; every record that
  left ``pending`` also has its finished job in the store);
- cleanup of expired records (batches of 500 final records past the retention).

The app's HTTP layer is left out on purpose: its cost does not depend on the store's size
(bench/bench_api.py measures it). The fake Stellar network runs in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stellar_sdk import Keypair

from app.config import parse_settings
from app.jobs.kinds import SUBMIT_TRANSACTION, submit_job
from app.jobs.model import Job, JobState
from app.services import Services, build_services
from app.store import sqlite as sqlite_store
from app.store import sqlite_jobs
from app.store.base import TxQuery, TxStore
from app.store.mongo import MongoStore
from app.store.snapshot import JOBS, RECORDS, job_row, record_row
from app.store.sqlite import SqliteStore
from app.txs.model import StoredSignature, TxRecord, TxStatus
from app.txs.view import tx_info
from tests.builders import payment_tx, signed
from tests.fakenet import FakeStellarNetwork
from tests.mongo_server import mongo_server

DAY = 86400.0
DEFAULT_CACHE = Path.home() / ".cache" / "refractor-bench"
BUSY = Keypair.from_raw_ed25519_seed(b"\x09" * 32).public_key


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Filler:
    """Records shaped like the API's, with random hashes and parties (``seed`` makes them
    reproducible: a cached dataset is generated with one seed, the records a run adds with
    another)."""

    def __init__(self, template: TxRecord, now: float, seed: int = 7) -> None:
        self.template = template
        self.now = now
        self.rng = random.Random(seed)
        self.busy_positions: list[tuple[float, str]] = []
        # Real keys, drawn from a pool: making a key per record would dominate the fill time.
        keys = random.Random(seed + 1)
        self.keys = [Keypair.from_raw_ed25519_seed(keys.randbytes(32)).public_key
                     for _ in range(20_000)]

    def record(self, status: TxStatus | None = None, created: float | None = None,
               updated: float | None = None) -> TxRecord:
        rng = self.rng
        roll = rng.random()
        if status is None:
            status = (TxStatus.PROCESSED if roll < 0.75 else
                      TxStatus.FAILED if roll < 0.85 else TxStatus.PENDING)
        created = self.now - rng.random() * 25 * DAY if created is None else created
        t = self.template
        source = BUSY if rng.random() < 0.1 else rng.choice(self.keys)
        signers = rng.sample(self.keys, rng.randint(1, 3))
        count = 0 if status is TxStatus.PENDING and rng.random() < 0.3 else len(signers)
        record = TxRecord(
            hash=rng.randbytes(32).hex(), network=t.network, xdr=t.xdr, status=status,
            created_at=created, updated_at=created + 30 if updated is None else updated,
            submit=True, min_time=0, max_time=int(created + 7 * DAY), sources=[source],
            signers=signers, derived=t.derived, sig_count=count,  # shared, never changed
            signatures=[StoredSignature(k, rng.randbytes(64), created) for k in signers[:count]],
            submitted=int(created + 30) if status is TxStatus.PROCESSED else None,
            result={"successful": True} if status is TxStatus.PROCESSED else None,
            error="tx_bad_seq" if status is TxStatus.FAILED else None,
            ready_at=created + 10 if status is not TxStatus.PENDING else None)
        if source == BUSY:
            self.busy_positions.append((record.created_at, record.hash))
        return record

GENERATION = 1  # bump when the generated data changes: cached datasets are keyed by it
SEED = 7


@dataclass
class Dataset:
    """What a run needs to know about a generated store: when it was made (record times are
    relative to it), the busy account's (created_at, hash) positions and a sample of hashes."""

    now: float
    busy_positions: list[tuple[float, str]]
    hashes: list[str]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"now": self.now, "busy": self.busy_positions,
                                    "hashes": self.hashes}))

    @classmethod
    def load(cls, path: Path) -> Dataset:
        data = json.loads(path.read_text())
        return cls(data["now"], [(c, h) for c, h in data["busy"]], data["hashes"])


def finished_job(record: TxRecord) -> Job:
    job = submit_job(record, record.created_at)
    job.state, job.attempts, job.updated_at = JobState.SUCCEEDED, 1, record.updated_at
    return job


def generate(store: TxStore, size: int, template: TxRecord) -> Dataset:
    """Fill an empty store with ``size`` records, each that left ``pending`` with its finished
    submission job. SQLite: the rows ``SqliteStore.insert`` and ``jobs.put`` write (the engine's
    own row functions), 20,000 records per transaction; other engines: the store's bulk import
    (its restore path). A sample is read back through the store and compared."""
    filler = Filler(template, time.time(), SEED)
    hashes: list[str] = []
    started = time.monotonic()
    kept: list[TxRecord] = []

    def records() -> Iterator[TxRecord]:
        for n in range(size):
            record = filler.record()
            if len(hashes) < 20_000:
                hashes.append(record.hash)
            if n % 997 == 0:
                kept.append(record)
            if n and n % 100_000 == 0:
                print(f"  {n:,} records generated ({time.monotonic() - started:.0f} s)",
                      file=sys.stderr, flush=True)
            yield record

    if isinstance(store, SqliteStore):
        _sqlite_bulk(store, records())
    else:
        finished: list[TxRecord] = []

        def rows() -> Iterator[dict[str, Any]]:
            for record in records():
                if record.status is not TxStatus.PENDING:
                    finished.append(replace(record, derived={}, signatures=[]))
                yield record_row(record)

        store.import_snapshot({RECORDS.name: rows(),
                               JOBS.name: (job_row(finished_job(r)) for r in finished)})
    for record in kept:  # the bulk path wrote what insert would have
        stored = store.get(record.hash, by_inner=False)
        assert stored is not None and stored.signatures == record.signatures, record.hash
        assert stored.derived == record.derived and stored.status is record.status, record.hash
        if record.status is not TxStatus.PENDING:
            assert store.jobs.get(finished_job(record).id) is not None, record.hash
    print(f"  {size:,} records stored in {time.monotonic() - started:.0f} s", file=sys.stderr,
          flush=True)
    return Dataset(filler.now, filler.busy_positions, hashes)


def _sqlite_bulk(store: SqliteStore, records: Iterator[TxRecord], batch: int = 20_000) -> None:
    conn = sqlite3.connect(store.path, isolation_level=None)
    conn.execute("PRAGMA cache_size=-400000")  # 400 MB: the fill's random index inserts
    insert_tx = (f"INSERT INTO txs ({','.join(sqlite_store._COLUMNS)}) "
                 f"VALUES ({','.join('?' * len(sqlite_store._COLUMNS))})")
    insert_sig = "INSERT INTO signatures (tx_hash, key, signature, added_at) VALUES (?,?,?,?)"
    insert_job = (f"INSERT INTO jobs ({','.join(sqlite_jobs._COLUMNS)}) "
                  f"VALUES ({','.join('?' * len(sqlite_jobs._COLUMNS))})")
    derived_json: dict[int, str] = {}
    to_db = sqlite_store._to_db

    def row(record: TxRecord) -> list[Any]:
        values = []
        for column in sqlite_store._COLUMNS:
            if column == "derived":  # every record shares the template's view: encoded once
                key = id(record.derived)
                if key not in derived_json:
                    derived_json.clear()
                    derived_json[key] = to_db(column, record.derived)
                values.append(derived_json[key])
            else:
                values.append(to_db(column, getattr(record, column)))
        return values

    try:
        while True:
            chunk = list(itertools.islice(records, batch))
            if not chunk:
                return
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert_tx, [row(r) for r in chunk])
            conn.executemany(sqlite_store._INSERT_PARTY,
                             [p for r in chunk for p in sqlite_store._parties(r)])
            conn.executemany(insert_sig, [(r.hash, s.key, s.signature, s.added_at)
                                          for r in chunk for s in r.signatures])
            conn.executemany(insert_job, [sqlite_jobs._values(finished_job(r)) for r in chunk
                                          if r.status is not TxStatus.PENDING])
            conn.execute("COMMIT")
    finally:
        conn.close()


def sqlite_dataset(size: int, template: TxRecord, cache: Path, workdir: Path) -> tuple[str, Dataset]:
    """A private copy of the cached SQLite dataset of ``size`` records (made on first use)."""
    cache.mkdir(parents=True, exist_ok=True)
    name = f"growth-g{GENERATION}-seed{SEED}-{size}"
    cached, meta = cache / f"{name}.db", cache / f"{name}.json"
    if not (cached.exists() and meta.exists()):
        print(f"sqlite: generating {size:,} records into {cached}", file=sys.stderr, flush=True)
        partial = cache / f"{name}.partial.db"
        for leftover in cache.glob(f"{name}.partial.db*"):
            leftover.unlink()
        store = SqliteStore(str(partial), synchronous="NORMAL")  # a cache: rebuilt if lost
        try:
            store.ensure_schema()
            dataset = generate(store, size, template)
        finally:
            store.close()
        with closing(sqlite3.connect(partial)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        partial.rename(cached)
        dataset.save(meta)
    copy = workdir / f"{name}.db"
    shutil.copyfile(cached, copy)
    return str(copy), Dataset.load(meta)


def settle(kind: str, db: str) -> None:
    """Start each size from a steady state: on SQLite, no write-ahead log left to fold in (the
    background checkpointer would otherwise still be copying it while the first operations are
    timed), and the file read once, so that it sits in the OS page cache as a running server's
    database does (a copy just made is partly on disk only: at 1 M records, 4.6 GB, the first
    reads of a cold copy measured the disk, 0.25 ms per GET instead of 0.06)."""
    if kind == "sqlite":
        with closing(sqlite3.connect(db, timeout=60)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with open(db, "rb") as f:
            while f.read(1 << 24):
                pass
    time.sleep(2)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


class Measure:
    def __init__(self, services: Services, net: FakeStellarNetwork, filler: Filler,
                 dataset: Dataset) -> None:
        self.svc = services
        self.store = services.store
        self.net = net
        self.filler = filler
        self.dataset = dataset
        self.hashes = dataset.hashes
        self.rng = random.Random(1)
        self.cosigners = (Keypair.random(), Keypair.random())
        self.source = Keypair.random()
        net.ledger.create_account(self.source.public_key, master_weight=0, low=2, med=2, high=2,
                                  signers=[(k.public_key, 1) for k in self.cosigners])
        self.dest = Keypair.random().public_key
        net.ledger.create_account(self.dest)
        self.seq = 1000

    def get_by_hash(self, samples: int) -> list[float]:
        picks = self.rng.choices(self.hashes, k=samples)
        return [timed(lambda h=h: tx_info(self.svc.txs.get(h))) for h in picks]  # type: ignore[misc]

    def add_signature(self, samples: int) -> list[float]:
        first, second = self.cosigners
        pending = []
        for _ in range(samples):
            self.seq += 1
            te = payment_tx(self.source, seq=self.seq, destination=self.dest)
            self.svc.txs.post({"network": "testnet", "xdr": signed(te, first)})
            pending.append(signed(te, second))
        return [timed(lambda x=x: self.svc.txs.post({"network": "testnet", "xdr": x}))  # type: ignore[misc]
                for x in pending]

    def listing(self, deep: bool, samples: int) -> list[float]:
        cursor = None
        if deep:
            positions = sorted(self.dataset.busy_positions, reverse=True)
            cursor = positions[len(positions) // 2]
        query = TxQuery(account=BUSY, limit=20, cursor=cursor)
        return [timed(lambda: self.store.search(query)) for _ in range(samples)]

    def claim(self) -> list[float]:
        now = time.time()
        for _ in range(500):
            record = self.filler.record(TxStatus.READY, created=now - 5)
            self.store.insert(record)
            self.store.jobs.add(submit_job(record, now - 1))
        out = []
        while True:
            started = time.perf_counter()
            claimed = self.store.jobs.claim(SUBMIT_TRANSACTION, "bench", time.time(), 600, 50)
            if not claimed:
                return out
            out.append((time.perf_counter() - started) * 1000)
            for job in claimed:  # finish them, as the worker would
                self.store.jobs.finish(job.id, "bench", time.time(), JobState.SUCCEEDED)

    def cleanup(self) -> list[float]:
        old = self.dataset.now - 90 * DAY
        for _ in range(1500):  # each with its finished submission job, which goes with it
            record = self.filler.record(TxStatus.PROCESSED, created=old, updated=old)
            self.store.insert(record)
            self.store.jobs.put(finished_job(record))
        cutoff = self.dataset.now - 30 * DAY
        # Fillers are younger than the 30-day retention: only these 1,500 are deleted.
        return [timed(lambda: self.store.delete_final_before(cutoff, 500)) for _ in range(3)]


OPERATIONS = ("GET by hash", "POST add a signature", "GET /tx?account= first page",
              "GET /tx?account= deep cursor page", "claim due jobs (50 per call)",
              "cleanup expired (500 per call)")


def run_engine(engine: str, sizes: list[int], samples: int, rounds: int, label: str,
               cache: Path) -> dict[int, dict[str, list[float]]]:
    """Every size is loaded first, then measured in rounds that take turns between the sizes, so
    a change in the machine's load during the run is spread over all of them alike."""
    out: dict[int, dict[str, list[float]]] = {size: {op: [] for op in OPERATIONS} for size in sizes}
    with tempfile.TemporaryDirectory(prefix="refractor-growth-") as tmp_name, \
            FakeStellarNetwork() as net, contextlib.ExitStack() as stack:
        tmp = Path(tmp_name)
        template = template_record(net, tmp)
        mongo = stack.enter_context(mongo_server(tmp)) if engine == "mongodb" else None
        measures: dict[int, Measure] = {}
        for size in sizes:
            if mongo is None:
                db, dataset = sqlite_dataset(size, template, cache, tmp)
            else:  # the test server's data is not cached: each size is imported afresh
                db = mongo.rstrip("/") + f"/growth_{size}"
                print(f"mongodb: importing {size:,} records", file=sys.stderr, flush=True)
                filling = MongoStore(db)
                try:
                    filling.ensure_schema()
                    dataset = generate(filling, size, template)
                finally:
                    filling.close()
            settle(engine, db)
            settings = parse_settings({
                "storage": engine, "db": db, "accountCacheTtl": 3600, "runWorker": False,
                "networks": {"testnet": {"rpc": net.rpc_url, "horizon": net.horizon_url}}}, {})
            services = build_services(settings)
            stack.callback(services.close)
            # Records a run adds are drawn with another seed: never the cached ones' hashes.
            measures[size] = Measure(services, net, Filler(template, dataset.now, SEED + size),
                                     dataset)
        share = max(1, samples // rounds)
        for n in range(rounds):
            for size, measure in measures.items():
                got = out[size]
                got[OPERATIONS[0]] += measure.get_by_hash(share)
                got[OPERATIONS[1]] += measure.add_signature(share)
                got[OPERATIONS[2]] += measure.listing(False, share)
                got[OPERATIONS[3]] += measure.listing(True, share)
                got[OPERATIONS[4]] += measure.claim()
                got[OPERATIONS[5]] += measure.cleanup()
            # What is measured so far, in case a long run has to be stopped.
            print(f"{label}, after round {n + 1} of {rounds}:\n{table(label, out)}",
                  file=sys.stderr, flush=True)
    return out


def template_record(net: FakeStellarNetwork, tmp: Path) -> TxRecord:
    """A real record as the API stores it (two of three signatures), to copy sizes from."""
    settings = parse_settings({
        "storage": "sqlite", "db": str(tmp / "template.db"), "runWorker": False,
        "networks": {"testnet": {"rpc": net.rpc_url, "horizon": net.horizon_url}}}, {})
    services = build_services(settings)
    try:
        signers = [Keypair.random() for _ in range(3)]
        source = Keypair.random()
        net.ledger.create_account(source.public_key, master_weight=0, low=2, med=2, high=2,
                                  signers=[(k.public_key, 1) for k in signers])
        te = payment_tx(source, seq=1, destination=Keypair.random().public_key)
        body = services.txs.post({"network": "testnet", "xdr": signed(te, *signers[:2])})
        record = services.store.get(body["hash"])
        assert record is not None
        return record
    finally:
        services.close()


def table(engine: str, results: dict[int, dict[str, list[float]]]) -> str:
    sizes = sorted(results)
    head = "| operation | " + " | ".join(f"{s:,}: p50 / p99 ms" for s in sizes)
    head += f" | {sizes[-1]:,} vs {sizes[0]:,} (p50) |"
    lines = [f"{engine}:", head, "|---" * (len(sizes) + 2) + "|"]
    for op in OPERATIONS:
        cells = []
        for size in sizes:
            values = results[size][op]
            cells.append(f"{statistics.median(values):.3f} / {pct(values, 0.99):.3f}")
        ratio = statistics.median(results[sizes[-1]][op]) / statistics.median(results[sizes[0]][op])
        lines.append(f"| {op} | " + " | ".join(cells) + f" | x{ratio:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--engines", default="sqlite,mongodb")
    parser.add_argument("--mongo-sizes", default="1000,10000",
                        help="sizes for the MongoDB-wire test server, whose $or and sorted queries scan "
                             "the collection")
    parser.add_argument("--samples", type=int, default=300,
                        help="per size and operation (claims and cleanup: one batch per round)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="turns taken between the sizes (claims and cleanup: 10 and 3 calls "
                             "per round)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="where generated SQLite datasets are kept between runs")
    args = parser.parse_args()
    tables = []
    for engine in args.engines.split(","):
        sizes = [int(s) for s in (args.mongo_sizes if engine == "mongodb" else args.sizes).split(",")]
        label = {"sqlite": "SQLite", "mongodb": "MongoDB-wire test server (SecantusDB)"}[engine]
        tables.append(table(label, run_engine(engine, sizes, args.samples, args.rounds, label,
                                              args.cache)))
    print("\n\n".join(tables))
    print(f"\nreproduce: .venv/bin/python bench/bench_growth.py --sizes {args.sizes} --engines "
          f"{args.engines} --mongo-sizes {args.mongo_sizes} --samples {args.samples} "
          f"--rounds {args.rounds}")


if __name__ == "__main__":
    main()
