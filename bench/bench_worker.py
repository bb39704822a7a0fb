"""Finalizer benchmarks against the fake network (its own process), on SQLite.

    .venv/bin/python bench/bench_worker.py [--latency-count 300] [--throughput-count 3000]

1. Ready -> submitted latency: transactions are made ready one at a time at a steady pace; for each,
   the time from sending the POST that makes it ready to the fake network receiving it
   (sendTransaction), with 1 app process and with 4 on one database. Because the clock starts
   before the POST, the figure includes the POST itself: an upper bound.
2. Finalizer throughput at concurrency 50: N ready transactions are queued while the queue is paused,
   then released at once; transactions submitted per second until the last one is in a ledger.
The original polls every 5 s: 2,500 ms on average before it even starts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stellar_sdk import Account, Asset, Keypair, Network, TransactionBuilder

from bench.harness import app, fake_network, storage

ADMIN = {"Authorization": "Bearer " + "b" * 32}


def funded(control: str, n: int) -> list[tuple[Keypair, int]]:
    """n source accounts (and one destination) on the fake ledger."""
    dest = Keypair.random()
    httpx.post(control + "/accounts", json={"id": dest.public_key}).raise_for_status()
    out = []
    for _ in range(n):
        kp = Keypair.random()
        body = httpx.post(control + "/accounts", json={"id": kp.public_key}).json()
        out.append((kp, int(body["seq"]) if "seq" in body else int(body["seq_num"])))
    funded.dest = dest.public_key  # type: ignore[attr-defined]
    return out


def signed_payment(kp: Keypair, seq: int, dest: str) -> str:
    te = (TransactionBuilder(Account(kp.public_key, seq), Network.TESTNET_NETWORK_PASSPHRASE, 100)
          .append_payment_op(dest, Asset.native(), "1").set_timeout(3600).build())
    te.sign(kp)
    return te.to_xdr()


def received_at(control: str) -> dict[str, float]:
    subs = httpx.get(control + "/submissions", timeout=60).json()
    items = subs["submissions"] if isinstance(subs, dict) else subs
    first: dict[str, float] = {}
    for s in items:
        if s.get("hash") and s["hash"] not in first:
            first[s["hash"]] = float(s["received_at"])
    return first


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(net: dict[str, str], processes: int, count: int) -> dict[str, float]:
    accounts = funded(net["control"], count)
    dest = funded.dest  # type: ignore[attr-defined]
    with storage("sqlite") as (kind, db), ExitStack() as stack:
        urls = [stack.enter_context(app(net, kind, db, tickerTimeout=1000)) for _ in range(processes)]
        ready_at: dict[str, float] = {}
        for i, (kp, seq) in enumerate(accounts):
            xdr = signed_payment(kp, seq, dest)
            # Timed from before the POST that makes it ready: an upper bound on the latency.
            sent = time.time()
            r = httpx.post(urls[i % processes] + "/tx",
                           json={"network": "testnet", "xdr": xdr, "submit": True})
            ready_at[r.json()["hash"]] = sent
            time.sleep(0.01)
        deadline = time.time() + 120
        while time.time() < deadline:
            seen = received_at(net["control"])
            if all(h in seen for h in ready_at):
                break
            time.sleep(0.2)
    samples = [(seen[h] - t) * 1000 for h, t in ready_at.items() if h in seen]
    return {"p50": pct(samples, 0.5), "p99": pct(samples, 0.99), "mean": statistics.mean(samples),
            "n": len(samples)}


def throughput(net: dict[str, str], count: int, concurrency: int) -> dict[str, float]:
    accounts = funded(net["control"], count)
    dest = funded.dest  # type: ignore[attr-defined]
    bodies = [{"network": "testnet", "xdr": signed_payment(kp, seq, dest), "submit": True}
              for kp, seq in accounts]
    extra: dict[str, Any] = {"parallelTasks": concurrency, "minParallelTasks": concurrency,
                             "maxParallelTasks": concurrency, "adaptiveConcurrency": False,
                             "targetQueueSize": 1000, "horizonConcurrency": concurrency,
                             "maxHorizonConcurrency": concurrency}
    with storage("sqlite") as (kind, db), app(net, kind, db, **extra) as base:
        httpx.post(base + "/monitoring/queue/pause", headers=ADMIN).raise_for_status()
        with ThreadPoolExecutor(8) as pool, httpx.Client(base_url=base, timeout=60) as client:
            hashes = list(pool.map(lambda b: client.post("/tx", json=b).json()["hash"], bodies))
        started = time.time()
        httpx.post(base + "/monitoring/queue/resume", headers=ADMIN).raise_for_status()
        while True:
            report = httpx.get(base + "/monitoring/metrics", headers=ADMIN).json()
            if report["transactions"].get("processed", 0) >= len(hashes):
                break
            time.sleep(0.2)
        seen = received_at(net["control"])
    last = max(seen[h] for h in hashes)
    return {"tx_per_s": len(hashes) / (last - started), "seconds": last - started, "n": len(hashes)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-count", type=int, default=300)
    parser.add_argument("--throughput-count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    with fake_network() as net:
        for processes in (1, 4):
            r = latency(net, processes, args.latency_count)
            print(f"ready->submitted, {processes} process(es): p50 {r['p50']:.1f} ms, "
                  f"p99 {r['p99']:.1f} ms, mean {r['mean']:.1f} ms (n={r['n']})")
        t = throughput(net, args.throughput_count, args.concurrency)
        print(f"finalizer throughput at concurrency {args.concurrency}: {t['tx_per_s']:.0f} tx/s "
              f"({t['n']} transactions in {t['seconds']:.1f} s)")
    print(f"\nreproduce: .venv/bin/python bench/bench_worker.py --latency-count "
          f"{args.latency_count} --throughput-count {args.throughput_count} "
          f"--concurrency {args.concurrency}")


if __name__ == "__main__":
    main()
