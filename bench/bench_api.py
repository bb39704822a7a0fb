"""HTTP API throughput and latency at 32 concurrent clients (wrk), the app run as ``make run`` runs it.

    .venv/bin/python bench/bench_api.py [--seconds 8] [--engines sqlite,mongodb] [--workers 1,2]
                                        [--count 16000] [--accounts 256] [--isolated]

The app runs with ``make run``'s defaults: worker threads on, logging at INFO (the JSON access log
included), the default account cache TTL, SQLite in WAL mode; only rate limits are off (wrk is one
client address). The fake Stellar network (its own process) holds ``--accounts`` funded source
accounts, each with two co-signers (thresholds 2, master key weight 0), and every transaction
comes from the next account in turn, so account lookups miss the cache as they do in production.
All transactions ask to be submitted: each one that becomes ready is claimed, submitted to the
fake network and finalized by the worker while the next runs go on, so its writes compete.

Per engine and app process count (``workers``), in this order:
1. setup, not measured: ``--count`` transactions posted with the first co-signer's signature;
2. ``POST /tx`` create: ``--count`` other transactions carrying both signatures (ready at once);
3. ``GET /tx/{hash}`` over the ``--count`` distinct records of step 1, drawn at random;
4. ``POST /tx`` add a signature: the second co-signer's signature to the records of step 1
   (each becomes ready).
A minimal Starlette route on the same Hypercorn/uvloop stack is measured first in the same run
(the "ratio" column is req/s over its req/s). ``--isolated`` adds the earlier best-case runs as
rows labelled "isolated": one source account (always cached), worker off, logging at WARNING,
cache TTL 30 s, every GET on the same hash.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stellar_sdk import Account, Asset, Keypair, Network, TransactionBuilder

from bench.harness import (
    HEADER,
    ISOLATED,
    WrkResult,
    app,
    baseline_server,
    fake_network,
    post_all,
    storage,
    wrk,
)

HERE = Path(__file__).parent
POST_LUA, GET_LUA = HERE / "post_bodies.lua", HERE / "get_hashes.lua"
ADMIN = {"Authorization": "Bearer " + "b" * 32}
DEST = Keypair.from_raw_ed25519_seed(b"\x04" * 32).public_key
FIRST_SEQ = 1_000_000  # every source account starts here on the fake ledger
PASSPHRASE = Network.TESTNET_NETWORK_PASSPHRASE


def keypair(n: int) -> Keypair:
    return Keypair.from_raw_ed25519_seed(n.to_bytes(32, "big"))


@dataclass(frozen=True)
class Source:
    """A funded account whose transactions need both co-signers (weights 1 + 1, thresholds 2)."""

    index: int

    @property
    def account(self) -> Keypair:
        return keypair(1_000 + self.index)

    @property
    def cosigners(self) -> tuple[Keypair, Keypair]:
        return keypair(100_000 + 2 * self.index), keypair(100_001 + 2 * self.index)

    def ledger_entry(self) -> dict[str, Any]:
        return {"id": self.account.public_key, "seq": FIRST_SEQ, "master_weight": 0, "low": 2,
                "med": 2, "high": 2,
                "signers": [{"key": k.public_key, "weight": 1} for k in self.cosigners]}


def _bodies(args: tuple[int, int, int, int, bool]) -> list[tuple[str, str, str]]:
    """(hash, body signed by the first co-signer, body signed by the second) for transactions
    start..start+count-1 from accounts first_account..first_account+accounts-1, in turn: the n-th
    round is every account's next sequence number, so whatever prefix wrk gets through is
    submittable in order; with ``both`` the first body carries both signatures."""
    start, count, accounts, first_account, both = args
    out = []
    for n in range(start, start + count):
        source = Source(first_account + n % accounts)
        seq = FIRST_SEQ + n // accounts
        te = (TransactionBuilder(Account(source.account.public_key, seq), PASSPHRASE, 100)
              .append_payment_op(DEST, Asset.native(), "1")
              .add_time_bounds(0, int(time.time()) + 7 * 86400).build())
        first, second = source.cosigners
        te.sign(first)
        if both:
            te.sign(second)
        one = te.to_xdr()
        te.signatures = []
        te.sign(second)
        two = te.to_xdr()
        out.append((te.hash_hex(),
                    json.dumps({"network": "testnet", "xdr": one, "submit": True}),
                    json.dumps({"network": "testnet", "xdr": two})))
    return out


def make_bodies(count: int, accounts: int, first_account: int,
                both: bool) -> list[tuple[str, str, str]]:
    chunks = [(i, min(1000, count - i), accounts, first_account, both)
              for i in range(0, count, 1000)]
    with ProcessPoolExecutor(2) as pool:
        return [b for chunk in pool.map(_bodies, chunks) for b in chunk]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class Sets:
    """The request bodies of one engine/process-count run, written once for wrk."""

    created: Path  # both signatures
    first: Path  # first co-signer only (setup)
    second: Path  # second co-signer (add a signature)
    hashes: Path  # the records of ``first``
    count: int


def prepare(tmp: Path, tag: str, count: int, accounts: int, run: int) -> Sets:
    """Distinct transactions for run number ``run``. Each set has accounts of its own, starting at
    their ledger sequence: the worker orders submissions per source, so a set that continued
    another set's chains would wait behind sequence numbers that run never sent."""
    created = make_bodies(count, accounts, 2 * run * accounts, both=True)
    pending = make_bodies(count, accounts, (2 * run + 1) * accounts, both=False)
    return Sets(created=write_lines(tmp / f"{tag}-create.txt", [b for _, b, _ in created]),
                first=write_lines(tmp / f"{tag}-first.txt", [b for _, b, _ in pending]),
                second=write_lines(tmp / f"{tag}-second.txt", [b for _, _, b in pending]),
                hashes=write_lines(tmp / f"{tag}-hashes.txt", [h for h, _, _ in pending]),
                count=count)


def worker_report(base: str) -> str:
    report = httpx.get(base + "/monitoring/metrics", headers=ADMIN, timeout=60).json()
    counts = report.get("transactions", {})
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def realistic(engine: str, net: dict[str, str], seconds: int, sets: Sets,
              workers: int) -> tuple[dict[str, WrkResult], str]:
    results: dict[str, WrkResult] = {}
    with storage(engine) as (kind, db), app(net, kind, db, workers=workers) as base:
        print(f"{engine}, workers {workers}: loading {sets.count:,} records...", file=sys.stderr)
        failed = post_all(base, sets.first.read_text().splitlines())  # setup, not measured
        if failed:
            raise SystemExit(f"{engine}: {failed} of {sets.count} setup requests failed")
        print(f"{engine}, workers {workers}: measuring...", file=sys.stderr)
        results["POST /tx create (2 signatures)"] = wrk(
            base, seconds, script=POST_LUA, env={"BODIES": str(sets.created)})
        results[f"GET /tx/{{hash}} ({sets.count:,} records)"] = wrk(
            base, seconds, script=GET_LUA, env={"HASHES": str(sets.hashes)})
        results["POST /tx add a signature"] = wrk(base, seconds, script=POST_LUA,
                                                  env={"BODIES": str(sets.second)})
        for name, result in results.items():
            if name.startswith("POST") and result.requests > sets.count:
                print(f"note: {engine} {name}: {result.requests} requests for {sets.count} "
                      f"bodies; the rest repeated earlier ones (raise --count)", file=sys.stderr)
        return results, worker_report(base)


# -- the earlier best case, kept as "isolated" rows --

SOLO = keypair(7)
SOLO_COSIGNERS = (keypair(8), keypair(9))


def _solo_bodies(args: tuple[int, int, str]) -> list[str]:
    start, count, who = args
    out = []
    for seq in range(start, start + count):
        te = (TransactionBuilder(Account(SOLO.public_key, seq), PASSPHRASE, 100)
              .append_payment_op(DEST, Asset.native(), "1").add_time_bounds(0, 0).build())
        for i, kp in enumerate(SOLO_COSIGNERS):
            if who == "both" or (who == "first" and i == 0) or (who == "second" and i == 1):
                te.sign(kp)
        out.append(json.dumps({"network": "testnet", "xdr": te.to_xdr()}))
    return out


def solo_bodies(path: Path, first_seq: int, count: int, who: str) -> Path:
    chunks = [(first_seq + i, min(2000, count - i), who) for i in range(0, count, 2000)]
    with ProcessPoolExecutor(2) as pool:
        return write_lines(path, [b for chunk in pool.map(_solo_bodies, chunks) for b in chunk])


def isolated(engine: str, net: dict[str, str], seconds: int, count: int, tmp: Path,
             workers: int, run: int) -> dict[str, WrkResult]:
    httpx.post(net["control"] + "/accounts", json={
        "account_id": SOLO.public_key, "master_weight": 0, "low": 2, "med": 2, "high": 2,
        "signers": [{"key": k.public_key, "weight": 1} for k in SOLO_COSIGNERS]}).raise_for_status()
    results: dict[str, WrkResult] = {}
    base_seq = 10_000_000 * (run + 1)
    with storage(engine) as (kind, db), app(net, kind, db, workers=workers, **ISOLATED) as base:
        created = solo_bodies(tmp / f"solo-{run}-create.txt", base_seq, count, "both")
        results["POST /tx create (2 signatures)"] = wrk(
            base, seconds, script=POST_LUA, env={"BODIES": str(created)})
        first = json.loads(created.read_text().splitlines()[0])
        tx_hash = httpx.post(base + "/tx", json=first).json()["hash"]
        results["GET /tx/{hash} (one hash)"] = wrk(f"{base}/tx/{tx_hash}", seconds)
        one = solo_bodies(tmp / f"solo-{run}-one.txt", base_seq + 5_000_000, count, "first")
        two = solo_bodies(tmp / f"solo-{run}-two.txt", base_seq + 5_000_000, count, "second")
        wrk(base, seconds, script=POST_LUA, env={"BODIES": str(one)})  # setup, not measured
        results["POST /tx add a signature"] = wrk(base, seconds, script=POST_LUA,
                                                  env={"BODIES": str(two)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--engines", default="sqlite,mongodb")
    parser.add_argument("--workers", default="1,2", help="app process counts to run, e.g. 1,2")
    parser.add_argument("--count", type=int, default=16_000,
                        help="distinct transactions per set (GETs spread over this many records)")
    parser.add_argument("--accounts", type=int, default=256, help="funded source accounts")
    parser.add_argument("--isolated", action="store_true",
                        help="also the earlier best-case runs, as rows labelled isolated")
    args = parser.parse_args()
    engines = args.engines.split(",")
    process_counts = [int(w) for w in args.workers.split(",")]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        runs = [(e, w) for e in engines for w in process_counts]
        ledger = write_lines(tmp / "accounts.json", [json.dumps(
            [Source(i).ledger_entry() for i in range(2 * len(runs) * args.accounts)]
            + [{"id": DEST}, {"id": SOLO.public_key}])])
        print(f"preparing {len(runs)} x {2 * args.count:,} signed transactions...", file=sys.stderr)
        sets = {(e, w): prepare(tmp, f"{e}-{w}", args.count, args.accounts, i)
                for i, (e, w) in enumerate(runs)}
        rows: list[str] = []
        notes: list[str] = []
        with fake_network(ledger) as net:
            with baseline_server() as baseline_url:
                baseline = wrk(baseline_url + "/tx/x", args.seconds)
            rows.append(baseline.row("baseline: minimal Starlette JSON route", baseline.rps))
            for engine, workers in runs:
                label = {"sqlite": "SQLite", "mongodb": "MongoDB-wire"}[engine]
                results, worker = realistic(engine, net, args.seconds, sets[(engine, workers)],
                                            workers)
                for name, result in results.items():
                    rows.append(result.row(f"{label}, workers {workers}: {name}", baseline.rps))
                notes.append(f"{label}, workers {workers}: records by status at the end: {worker}")
            if args.isolated:
                for i, (engine, workers) in enumerate(runs):
                    label = {"sqlite": "SQLite", "mongodb": "MongoDB-wire"}[engine]
                    for name, result in isolated(engine, net, args.seconds, args.count, tmp,
                                                 workers, i).items():
                        rows.append(result.row(f"isolated: {label}, workers {workers}: {name}",
                                               baseline.rps))
    print(f"HTTP API, {started}: {args.accounts} source accounts, wrk -t1 -c32 -d{args.seconds}s")
    print(HEADER)
    print("\n".join(rows))
    print("\n".join(notes))
    command = ["bench/bench_api.py", "--seconds", str(args.seconds), "--engines", args.engines,
               "--workers", args.workers, "--count", str(args.count), "--accounts",
               str(args.accounts)] + (["--isolated"] if args.isolated else [])
    print(f"\nreproduce: .venv/bin/python {shlex.join(command)}")


if __name__ == "__main__":
    main()
