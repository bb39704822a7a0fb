"""HTTP API throughput and latency at 32 concurrent clients (wrk), on SQLite and MongoDB-wire.

    .venv/bin/python bench/bench_api.py [--seconds 8] [--engines sqlite,mongodb]

Measures GET /tx/{hash}, POST /tx creating a transaction carrying 2 signatures, and POST /tx adding
a signature to an existing one, against the fake network; plus a minimal Starlette route on the
same server stack as the baseline (the ratio column is req/s divided by the baseline's).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stellar_sdk import Account, Asset, Keypair, Network, TransactionBuilder

from bench.harness import HEADER, WrkResult, app, baseline_server, fake_network, storage, wrk

LUA = Path(__file__).with_name("post_bodies.lua")
SOURCE = Keypair.from_raw_ed25519_seed(b"\x01" * 32)
COSIGNERS = [Keypair.from_raw_ed25519_seed(bytes([i]) * 32) for i in (2, 3)]
DEST = Keypair.from_raw_ed25519_seed(b"\x04" * 32).public_key


def _bodies(args: tuple[int, int, str]) -> list[str]:
    """JSON bodies for transactions start..start+count-1, signed by the given co-signers."""
    start, count, who = args
    out = []
    for seq in range(start, start + count):
        te = (TransactionBuilder(Account(SOURCE.public_key, seq), Network.TESTNET_NETWORK_PASSPHRASE,
                                 100)
              .append_payment_op(DEST, Asset.native(), "1").add_time_bounds(0, 0).build())
        for i, kp in enumerate(COSIGNERS):
            if who == "both" or (who == "first" and i == 0) or (who == "second" and i == 1):
                te.sign(kp)
        out.append(json.dumps({"network": "testnet", "xdr": te.to_xdr()}))
    return out


def make_bodies(path: Path, first_seq: int, count: int, who: str) -> None:
    chunks = [(first_seq + i, min(2000, count - i), who) for i in range(0, count, 2000)]
    with ProcessPoolExecutor(2) as pool:
        lines = [b for chunk in pool.map(_bodies, chunks) for b in chunk]
    path.write_text("\n".join(lines) + "\n")


def run_engine(engine: str, net: dict[str, str], seconds: int, count: int,
               tmp: Path, workers: int) -> dict[str, WrkResult]:
    results: dict[str, WrkResult] = {}
    with storage(engine) as (kind, db), app(net, kind, db, runWorker=False,
                                            workers=workers) as base:
        created = tmp / f"{engine}-create.txt"
        make_bodies(created, 10_000_000 * (1 if engine == "sqlite" else 2), count, "both")
        results["POST /tx create (2 signatures)"] = wrk(
            base, seconds, script=Path(LUA), env={"BODIES": str(created)})
        first = json.loads(created.read_text().splitlines()[0])
        tx_hash = httpx.post(base + "/tx", json=first).json()["hash"]
        results["GET /tx/{hash}"] = wrk(f"{base}/tx/{tx_hash}", seconds)
        one, two = tmp / f"{engine}-one.txt", tmp / f"{engine}-two.txt"
        base_seq = 30_000_000 * (1 if engine == "sqlite" else 2)
        make_bodies(one, base_seq, count, "first")
        make_bodies(two, base_seq, count, "second")
        wrk(base, seconds, script=Path(LUA), env={"BODIES": str(one)})  # setup, not measured
        results["POST /tx add a signature"] = wrk(base, seconds, script=Path(LUA),
                                                  env={"BODIES": str(two)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--engines", default="sqlite,mongodb")
    parser.add_argument("--count", type=int, default=16_000, help="distinct transactions per run")
    parser.add_argument("--workers", type=int, default=1, help="app processes sharing the port")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, fake_network() as net:
        httpx.post(net["control"] + "/accounts", json={
            "account_id": SOURCE.public_key, "master_weight": 0, "low": 2, "med": 2, "high": 2,
            "signers": [{"key": k.public_key, "weight": 1} for k in COSIGNERS]}).raise_for_status()
        with baseline_server() as baseline_url:
            baseline = wrk(baseline_url + "/tx/x", args.seconds)
        print(HEADER)
        print(baseline.row("baseline: minimal Starlette JSON route", baseline.rps))
        for engine in args.engines.split(","):
            for name, result in run_engine(engine, net, args.seconds, args.count,
                                           Path(tmp), args.workers).items():
                print(result.row(f"{engine}: {name}", baseline.rps))
    print(f"\nreproduce: .venv/bin/python bench/bench_api.py --seconds {args.seconds} "
          f"--engines {args.engines} --count {args.count} --workers {args.workers}")


if __name__ == "__main__":
    main()
