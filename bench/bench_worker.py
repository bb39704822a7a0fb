"""Finalizer benchmarks against the fake network (its own process), on SQLite.

    .venv/bin/python bench/bench_worker.py [--latency-count 300] [--throughput-count 3000]
                                           [--load-count 200] [--load-seconds 45]
                                           [--hanging 200] [--only-hanging]
                                           [--only-throughput]

1. Ready -> submitted latency: transactions are made ready one at a time at a steady pace; for each,
   the time from sending the POST that makes it ready to the fake network receiving it
   (sendTransaction), with 1 app process and with 4 on one database. Because the clock starts
   before the POST, the figure includes the POST itself: an upper bound.
2. The same latency with 1 process while bench_api's POST benchmark (``POST /tx`` creating
   transactions with 2 signatures from 256 accounts, wrk -c32) runs against the same app: the
   finalizer under load, both numbers in one table.
3. Finalizer throughput at concurrency 50: N ready transactions are queued while the queue is paused,
   then released at once; transactions submitted per second until the last one is in a ledger. The
   fake network is pinned to one core (the last this process may use) where there are two or
   more, so it does not take the app's.
4. Ready -> submitted latency (1 process) with hostile callback receivers in the background: first
   ``--hanging`` transactions (200) are processed whose callbacks go half to a receiver that
   accepts and then sends one byte per second without ever finishing, half to one that never
   accepts; their deliveries keep hanging (and being retried) while the normal transactions are
   measured, next to the idle run (target: p99 within 2x of it). ``--only-hanging`` runs just
   these two.
The app runs with ``make run``'s defaults (bench.harness.app).
The original polls every 5 s: 2,500 ms on average before it even starts.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stellar_sdk import Account, Asset, Keypair, Network, TransactionBuilder

from bench.harness import APP_PIDS, app, cpu_seconds, fake_network, storage

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


def latency(net: dict[str, str], processes: int, count: int,
            hanging: int = 0) -> dict[str, float]:
    accounts = funded(net["control"], count)
    dest = funded.dest  # type: ignore[attr-defined]
    with storage("sqlite") as (kind, db), ExitStack() as stack:
        urls = [stack.enter_context(app(net, kind, db, tickerTimeout=1000)) for _ in range(processes)]
        if hanging:
            hooks = stack.enter_context(hanging_receivers())
            make_hanging(net, urls[0], hanging, hooks)
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


@contextmanager
def hanging_receivers() -> Iterator[tuple[str, str]]:
    """A receiver that drips one byte per second and never finishes, and one that never accepts."""
    stop = threading.Event()
    drip = socket.create_server(("127.0.0.1", 0), backlog=512)
    drip.settimeout(0.2)
    deaf = socket.create_server(("127.0.0.2", 0), backlog=1)

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                while not stop.is_set():
                    readable, _, _ = select.select([conn], [], [], 1.0)
                    if readable and not conn.recv(65536):
                        return
                    conn.sendall(b"H")
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = drip.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield (f"http://127.0.0.1:{drip.getsockname()[1]}/hook",
               f"http://127.0.0.2:{deaf.getsockname()[1]}/hook")
    finally:
        stop.set()
        drip.close()
        deaf.close()


def make_hanging(net: dict[str, str], base: str, count: int, hooks: tuple[str, str]) -> None:
    """``count`` transactions processed at once whose callbacks then hang."""
    accounts = funded(net["control"], count)
    dest = funded.dest  # type: ignore[attr-defined]
    bodies = [{"network": "testnet", "xdr": signed_payment(kp, seq, dest),
               "callbackUrl": hooks[i % 2]} for i, (kp, seq) in enumerate(accounts)]
    with ThreadPoolExecutor(8) as pool, httpx.Client(base_url=base, timeout=60) as client:
        hashes = list(pool.map(lambda b: client.post("/tx", json=b).json()["hash"], bodies))
    deadline = time.time() + 300
    while time.time() < deadline:
        report = httpx.get(base + "/monitoring/metrics", headers=ADMIN, timeout=60).json()
        if report["transactions"].get("processed", 0) >= len(hashes):
            return
        time.sleep(0.5)


def throughput(net: dict[str, str], count: int, concurrency: int) -> dict[str, float]:
    accounts = funded(net["control"], count)
    dest = funded.dest  # type: ignore[attr-defined]
    bodies = [{"network": "testnet", "xdr": signed_payment(kp, seq, dest), "submit": True}
              for kp, seq in accounts]
    # Concurrency 0: the app's own submission pool and network caps (its defaults).
    extra: dict[str, Any] = {"parallelTasks": concurrency, "minParallelTasks": concurrency,
                             "maxParallelTasks": concurrency, "adaptiveConcurrency": False,
                             "horizonConcurrency": concurrency,
                             "maxHorizonConcurrency": concurrency} if concurrency > 0 else {}
    with storage("sqlite") as (kind, db), \
            app(net, kind, db, targetQueueSize=1000, **extra) as base:
        httpx.post(base + "/monitoring/queue/pause", headers=ADMIN).raise_for_status()
        with ThreadPoolExecutor(8) as pool, httpx.Client(base_url=base, timeout=60) as client:
            hashes = list(pool.map(lambda b: client.post("/tx", json=b).json()["hash"], bodies))
        started = time.time()
        cpu_before = cpu_seconds(APP_PIDS[base])
        httpx.post(base + "/monitoring/queue/resume", headers=ADMIN).raise_for_status()
        while True:
            report = httpx.get(base + "/monitoring/metrics", headers=ADMIN).json()
            if report["transactions"].get("processed", 0) >= len(hashes):
                break
            time.sleep(0.2)
        # The app's CPU per transaction while it drains the queue (the polling above included,
        # a few requests a second): steadier on a shared machine than transactions per second.
        cpu = cpu_seconds(APP_PIDS[base]) - cpu_before
        seen = received_at(net["control"])
    last = max(seen[h] for h in hashes)
    return {"tx_per_s": len(hashes) / (last - started), "seconds": last - started, "n": len(hashes),
            "cpu_ms": cpu * 1000 / len(hashes)}


def latency_under_load(net: dict[str, str], count: int, load_seconds: int) -> dict[str, float]:
    """Ready -> submitted while bench_api's POST benchmark (create, 2 signatures, 256 accounts)
    runs against the same app: ``count`` probe transactions, made ready one at a time."""
    from bench.bench_api import POST_LUA, Source, make_bodies, write_lines
    from bench.harness import wrk

    for i in range(256):
        httpx.post(net["control"] + "/accounts", json=Source(i).ledger_entry()).raise_for_status()
    with tempfile.TemporaryDirectory() as tmp:
        bodies = write_lines(Path(tmp) / "load.txt",
                             [b for _, b, _ in make_bodies(16_000, 256, 0, both=True)])
        accounts = funded(net["control"], count)
        dest = funded.dest  # type: ignore[attr-defined]
        probes = [signed_payment(kp, seq, dest) for kp, seq in accounts]
        with storage("sqlite") as (kind, db), app(net, kind, db) as base:
            load: dict[str, Any] = {}
            loader = threading.Thread(target=lambda: load.update(result=wrk(
                base, load_seconds, script=POST_LUA, env={"BODIES": str(bodies)})))
            loader.start()
            time.sleep(2)  # let the load reach its pace
            ready_at: dict[str, float] = {}
            with httpx.Client(base_url=base, timeout=60) as client:
                for xdr in probes:
                    sent = time.time()
                    r = client.post("/tx", json={"network": "testnet", "xdr": xdr, "submit": True})
                    ready_at[r.json()["hash"]] = sent
                    time.sleep(0.05)
                    if not loader.is_alive():
                        print("note: the POST load ended before the probes did (raise "
                              "--load-seconds)", file=sys.stderr)
                        break
            loader.join()
            deadline = time.time() + 120
            while time.time() < deadline:
                seen = received_at(net["control"])
                if all(h in seen for h in ready_at):
                    break
                time.sleep(0.5)
    samples = [(seen[h] - t) * 1000 for h, t in ready_at.items() if h in seen]
    return {"p50": pct(samples, 0.5), "p99": pct(samples, 0.99), "n": len(samples),
            "load_rps": load["result"].rps, "load_p99": load["result"].p99_ms}


def fakenet_core() -> int | None:
    """The last core this process may use, if there are at least two (one left for the rest)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return cores[-1] if len(cores) >= 2 else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-count", type=int, default=300)
    parser.add_argument("--throughput-count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--load-count", type=int, default=200,
                        help="probe transactions while the POST benchmark runs")
    parser.add_argument("--load-seconds", type=int, default=45)
    parser.add_argument("--hanging", type=int, default=200,
                        help="transactions whose callbacks hang in the hostile-receivers run")
    parser.add_argument("--only-hanging", action="store_true",
                        help="just the quiet and the hostile-receivers 1-process latency runs")
    parser.add_argument("--only-throughput", action="store_true",
                        help="just the finalizer throughput run (concurrency 0: the app's pool)")
    args = parser.parse_args()
    if args.only_throughput:
        core = fakenet_core()
        with fake_network(cpu=core) as net:
            t = throughput(net, args.throughput_count, args.concurrency)
        print(f"finalizer throughput, concurrency {args.concurrency}: {t['tx_per_s']:.0f} tx/s "
              f"({t['n']} in {t['seconds']:.1f} s), app CPU {t['cpu_ms']:.2f} ms per transaction")
        return
    if args.only_hanging:
        with fake_network() as net:
            quiet = latency(net, 1, args.latency_count)
            noisy = latency(net, 1, args.latency_count, hanging=args.hanging)
        print("| measure | result |\n|---|---|")
        for label, r in (("idle", quiet), (f"{args.hanging} hanging callback receivers", noisy)):
            print(f"| ready -> submitted, {label}, 1 process | p50 {r['p50']:.1f} ms, "
                  f"p99 {r['p99']:.1f} ms (n={r['n']}) |")
        print(f"\np99 hostile / idle: {noisy['p99'] / quiet['p99']:.2f}")
        print(f"\nreproduce: .venv/bin/python bench/bench_worker.py --only-hanging "
              f"--latency-count {args.latency_count} --hanging {args.hanging}")
        return
    core = fakenet_core()
    where = f"pinned to CPU {core}" if core is not None else "not pinned (one core available)"
    rows = []
    with fake_network() as net:
        for processes in (1, 4):
            r = latency(net, processes, args.latency_count)
            rows.append(f"| ready -> submitted, idle, {processes} process(es) | p50 {r['p50']:.1f} ms, "
                        f"p99 {r['p99']:.1f} ms (n={r['n']}) |")
        r = latency(net, 1, args.latency_count, hanging=args.hanging)
        rows.append(f"| ready -> submitted, {args.hanging} hanging callback receivers, 1 process "
                    f"| p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms (n={r['n']}) |")
        r = latency_under_load(net, args.load_count, args.load_seconds)
        rows.append(f"| ready -> submitted while POST /tx create runs ({r['load_rps']:.0f} req/s, "
                    f"p99 {r['load_p99']:.0f} ms), 1 process | p50 {r['p50']:.1f} ms, "
                    f"p99 {r['p99']:.1f} ms (n={r['n']}) |")
    with fake_network(cpu=core) as net:
        t = throughput(net, args.throughput_count, args.concurrency)
        pool = f"concurrency {args.concurrency}" if args.concurrency > 0 else "the app's pool"
        rows.append(f"| finalizer throughput, {pool}, fake network {where} "
                    f"| {t['tx_per_s']:.0f} tx/s ({t['n']} transactions in {t['seconds']:.1f} s; "
                    f"app CPU {t['cpu_ms']:.2f} ms per transaction) |")
    print("| measure | result |\n|---|---|")
    print("\n".join(rows))
    print(f"\nreproduce: .venv/bin/python bench/bench_worker.py --latency-count "
          f"{args.latency_count} --throughput-count {args.throughput_count} "
          f"--concurrency {args.concurrency} --load-count {args.load_count} "
          f"--load-seconds {args.load_seconds} --hanging {args.hanging}")


if __name__ == "__main__":
    main()
