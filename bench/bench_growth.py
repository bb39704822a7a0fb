"""How costs grow with the number of stored records, on SQLite and on the MongoDB engine.

    .venv/bin/python bench/bench_growth.py [--sizes 10000,100000,1000000] [--engines sqlite]
                                           [--mongo-sizes 10000,100000] [--samples 300]

The store is filled through the store interface (``TxStore.insert``) with records shaped like real
ones (an envelope, its signed copy, summary and progress as the API stores them; 1-3 signatures;
statuses 75 % processed, 10 % failed, 15 % pending; created over the last 25 days), one busy
account holding a tenth of them as source. At each size it reports, per operation, the median and
p99 in milliseconds and the median's ratio to the smallest size:

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
import copy
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stellar_sdk import Keypair

from app.config import parse_settings
from app.jobs.kinds import SUBMIT_TRANSACTION, submit_job
from app.jobs.model import JobState
from app.services import Services, build_services
from app.store.base import TxQuery, TxStore
from app.txs.model import StoredSignature, TxRecord, TxStatus
from app.txs.view import tx_info
from tests.builders import payment_tx, signed
from tests.fakenet import FakeStellarNetwork
from tests.mongo_server import mongo_server

DAY = 86400.0
BUSY = Keypair.from_raw_ed25519_seed(b"\x09" * 32).public_key


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Filler:
    """Records shaped like the API's, with random hashes and parties."""

    def __init__(self, template: TxRecord, now: float) -> None:
        self.template = template
        self.now = now
        self.rng = random.Random(7)
        self.busy_positions: list[tuple[float, str]] = []
        # Real keys, drawn from a pool: making a key per record would dominate the fill time.
        self.keys = [Keypair.random().public_key for _ in range(20_000)]

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
            signers=signers, derived=copy.deepcopy(t.derived), sig_count=count,
            signatures=[StoredSignature(k, rng.randbytes(64), created) for k in signers[:count]],
            submitted=int(created + 30) if status is TxStatus.PROCESSED else None,
            result={"successful": True} if status is TxStatus.PROCESSED else None,
            error="tx_bad_seq" if status is TxStatus.FAILED else None,
            ready_at=created + 10 if status is not TxStatus.PENDING else None)
        if source == BUSY:
            self.busy_positions.append((record.created_at, record.hash))
        return record

    def fill(self, store: TxStore, count: int) -> None:
        for _ in range(count):
            store.insert(self.record())


@contextmanager
def engine_store(engine: str, tmp: Path) -> Iterator[tuple[str, str]]:
    if engine == "sqlite":
        yield "sqlite", str(tmp / "growth.db")
    else:
        with mongo_server(tmp) as url:
            yield "mongodb", url.rstrip("/") + "/growth"


def settle(kind: str, db: str) -> None:
    """Start each size from a steady state: on SQLite, fold the fill's write-ahead log into the
    database first (the background checkpointer would otherwise still be copying it while the
    first operations are timed)."""
    if kind == "sqlite":
        with closing(sqlite3.connect(db, timeout=60)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    time.sleep(2)


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


class Measure:
    def __init__(self, services: Services, net: FakeStellarNetwork, filler: Filler,
                 samples: int) -> None:
        self.svc = services
        self.store = services.store
        self.net = net
        self.filler = filler
        self.samples = samples
        self.hashes: list[str] = []
        self.cosigners = (Keypair.random(), Keypair.random())
        self.source = Keypair.random()
        net.ledger.create_account(self.source.public_key, master_weight=0, low=2, med=2, high=2,
                                  signers=[(k.public_key, 1) for k in self.cosigners])
        self.dest = Keypair.random().public_key
        net.ledger.create_account(self.dest)
        self.seq = 1000

    def get_by_hash(self) -> list[float]:
        picks = random.Random(1).choices(self.hashes, k=self.samples)
        return [timed(lambda h=h: tx_info(self.svc.txs.get(h))) for h in picks]  # type: ignore[misc]

    def add_signature(self) -> list[float]:
        first, second = self.cosigners
        pending = []
        for _ in range(self.samples):
            self.seq += 1
            te = payment_tx(self.source, seq=self.seq, destination=self.dest)
            self.svc.txs.post({"network": "testnet", "xdr": signed(te, first)})
            pending.append(signed(te, second))
        return [timed(lambda x=x: self.svc.txs.post({"network": "testnet", "xdr": x}))  # type: ignore[misc]
                for x in pending]

    def listing(self, deep: bool) -> list[float]:
        cursor = None
        if deep:
            positions = sorted(self.filler.busy_positions, reverse=True)
            cursor = positions[len(positions) // 2]
        query = TxQuery(account=BUSY, limit=20, cursor=cursor)
        return [timed(lambda: self.store.search(query)) for _ in range(self.samples)]

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
        old = self.filler.now - 90 * DAY
        for _ in range(1500):
            self.store.insert(self.filler.record(TxStatus.PROCESSED, created=old, updated=old))
        cutoff = self.filler.now - 30 * DAY
        # Fillers are younger than the 30-day retention: only these 1,500 are deleted.
        return [timed(lambda: self.store.delete_final_before(cutoff, 500)) for _ in range(3)]


OPERATIONS = ("GET by hash", "POST add a signature", "GET /tx?account= first page",
              "GET /tx?account= deep cursor page", "claim due jobs (50 per call)",
              "cleanup expired (500 per call)")


def run_engine(engine: str, sizes: list[int], samples: int,
               label: str) -> dict[int, dict[str, list[float]]]:
    out: dict[int, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp_name, FakeStellarNetwork() as net, \
            engine_store(engine, Path(tmp_name)) as (kind, db):
        settings = parse_settings({
            "storage": kind, "db": db, "accountCacheTtl": 3600, "runWorker": False,
            "networks": {"testnet": {"rpc": net.rpc_url, "horizon": net.horizon_url}}}, {})
        services = build_services(settings)
        filler = Filler(template_record(services, net), time.time())
        measure = Measure(services, net, filler, samples)
        stored = 0
        try:
            for size in sizes:
                started = time.monotonic()
                batch = size - stored
                before = len(filler.busy_positions)
                for _ in range(batch):
                    record = filler.record()
                    services.store.insert(record)
                    if record.status is not TxStatus.PENDING:  # its submission job, finished
                        job = submit_job(record, record.created_at)
                        job.state, job.attempts = JobState.SUCCEEDED, 1
                        job.updated_at = record.updated_at
                        services.store.jobs.put(job)
                    if len(measure.hashes) < 100_000:
                        measure.hashes.append(record.hash)
                stored = size
                settle(kind, db)
                print(f"{engine}: {size:,} records ({batch:,} inserted in "
                      f"{time.monotonic() - started:.0f} s, busy account "
                      f"{len(filler.busy_positions) - before:,} more)", file=sys.stderr)
                out[size] = {
                    OPERATIONS[0]: measure.get_by_hash(),
                    OPERATIONS[1]: measure.add_signature(),
                    OPERATIONS[2]: measure.listing(deep=False),
                    OPERATIONS[3]: measure.listing(deep=True),
                    OPERATIONS[4]: measure.claim(),
                    OPERATIONS[5]: measure.cleanup(),
                }
                # What is measured so far, in case a long fill has to be stopped.
                print(table(label, out), file=sys.stderr, flush=True)
        finally:
            services.close()
    return out


def template_record(services: Services, net: FakeStellarNetwork) -> TxRecord:
    """A real record as the API stores it (two of three signatures), to copy sizes from."""
    signers = [Keypair.random() for _ in range(3)]
    source = Keypair.random()
    net.ledger.create_account(source.public_key, master_weight=0, low=2, med=2, high=2,
                              signers=[(k.public_key, 1) for k in signers])
    te = payment_tx(source, seq=1, destination=Keypair.random().public_key)
    body = services.txs.post({"network": "testnet", "xdr": signed(te, *signers[:2])})
    record = services.store.get(body["hash"])
    assert record is not None
    return record


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
    parser.add_argument("--mongo-sizes", default="10000,100000",
                        help="sizes for the MongoDB-wire test server, whose inserts are slow")
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    tables = []
    for engine in args.engines.split(","):
        sizes = [int(s) for s in (args.mongo_sizes if engine == "mongodb" else args.sizes).split(",")]
        label = {"sqlite": "SQLite", "mongodb": "MongoDB-wire test server (SecantusDB)"}[engine]
        tables.append(table(label, run_engine(engine, sizes, args.samples, label)))
    print("\n\n".join(tables))
    print(f"\nreproduce: .venv/bin/python bench/bench_growth.py --sizes {args.sizes} --engines "
          f"{args.engines} --mongo-sizes {args.mongo_sizes} --samples {args.samples}")


if __name__ == "__main__":
    main()
