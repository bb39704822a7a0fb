"""Finalizer benchmark for sequential transactions: chains of one source account each.

    .venv/bin/python bench/bench_sequence.py [--accounts 200] [--chain 5] [--ledger-seconds 1]
                                             [--processes 1]

Each of ``--accounts`` accounts gets ``--chain`` payments with consecutive sequence numbers. All
of them are posted fully signed while the queue is paused (so they become ready together, in
random order), then the queue is resumed. The fake network keeps one transaction per source
account in its queue, like stellar-core, and applies it ``--ledger-seconds`` later (0: at once).

Reports the throughput (transactions applied per second, from resume to the last one in a
ledger), the ready -> submitted latency per position in the chain (resume to the first time the
network received that transaction), and how often the network answered TRY_AGAIN_LATER or
txBAD_SEQ (both should be 0: the worker sends one transaction per source at a time, in order).
"""

from __future__ import annotations

import argparse
import random
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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def chains(control: str, accounts: int, length: int) -> list[list[str]]:
    """Signed envelopes, one list (in sequence order) per account."""
    dest = Keypair.random().public_key
    httpx.post(control + "/accounts", json={"id": dest}).raise_for_status()
    out = []
    for _ in range(accounts):
        kp = Keypair.random()
        seq = int(httpx.post(control + "/accounts", json={"id": kp.public_key}).json()["seq_num"])
        chain = []
        for i in range(length):
            te = (TransactionBuilder(Account(kp.public_key, seq + i), Network.TESTNET_NETWORK_PASSPHRASE, 100)
                  .append_payment_op(dest, Asset.native(), "1").set_timeout(3600).build())
            te.sign(kp)
            chain.append(te.to_xdr())
        out.append(chain)
    return out


def run(net: dict[str, str], accounts: int, length: int, ledger_seconds: float,
        processes: int) -> dict[str, Any]:
    control = net["control"]
    httpx.post(control + "/reset", json={}).raise_for_status()
    httpx.post(control + "/queue", json={"seconds": ledger_seconds}).raise_for_status()
    envelopes = chains(control, accounts, length)
    position: dict[str, int] = {}
    bodies = []
    for chain in envelopes:
        for i, xdr in enumerate(chain):
            bodies.append({"network": "testnet", "xdr": xdr, "submit": True})
            position[xdr] = i
    random.shuffle(bodies)  # any arrival order, N+5 before N+1 included
    with storage("sqlite") as (kind, db), ExitStack() as stack:
        urls = [stack.enter_context(app(net, kind, db)) for _ in range(processes)]
        httpx.post(urls[0] + "/monitoring/queue/pause", headers=ADMIN).raise_for_status()
        with ThreadPoolExecutor(8) as pool, httpx.Client(timeout=60) as client:
            answers = list(pool.map(
                lambda ib: client.post(urls[ib[0] % processes] + "/tx", json=ib[1]).json()["hash"],
                enumerate(bodies)))
        pos_of = {h: position[b["xdr"]] for h, b in zip(answers, bodies, strict=True)}
        started = time.time()
        httpx.post(urls[0] + "/monitoring/queue/resume", headers=ADMIN).raise_for_status()
        deadline = started + 300
        while time.time() < deadline:
            counts = httpx.get(urls[0] + "/monitoring/metrics", headers=ADMIN).json()["transactions"]
            if counts.get("processed", 0) + counts.get("failed", 0) >= len(answers):
                break
            time.sleep(0.2)
        final = httpx.get(urls[0] + "/monitoring/metrics", headers=ADMIN).json()["transactions"]
        subs = httpx.get(control + "/submissions", timeout=120).json()["submissions"]
    first: dict[str, float] = {}
    try_again = bad_seq = 0
    for s in subs:
        h = s.get("hash")
        if s["code"] == "TRY_AGAIN_LATER":
            try_again += 1
        elif s["code"] in ("txBAD_SEQ", "tx_bad_seq"):
            bad_seq += 1
        if h in pos_of and h not in first:
            first[h] = float(s["received_at"])
    transactions = httpx.get(control + "/stats").json()["transactions"]
    landed = max(first.values(), default=started) + ledger_seconds
    per_position: dict[int, list[float]] = {}
    for h, t in first.items():
        per_position.setdefault(pos_of[h], []).append((t - started) * 1000)
    return {"applied": transactions, "n": len(answers), "seconds": landed - started,
            "tx_per_s": transactions / max(landed - started, 1e-9), "per_position": per_position,
            "try_again_later": try_again, "bad_seq": bad_seq, "failed": final.get("failed", 0)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--chain", type=int, default=5)
    parser.add_argument("--ledger-seconds", type=float, default=1.0)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    with fake_network() as net:
        r = run(net, args.accounts, args.chain, args.ledger_seconds, args.processes)
    print(f"{args.accounts} accounts x {args.chain} sequential transactions, ledger every "
          f"{args.ledger_seconds} s, {args.processes} process(es): {r['applied']}/{r['n']} applied, "
          f"{r['failed']} failed, "
          f"{r['tx_per_s']:.1f} tx/s ({r['seconds']:.1f} s); TRY_AGAIN_LATER answers "
          f"{r['try_again_later']}, txBAD_SEQ answers {r['bad_seq']}")
    for pos, samples in sorted(r["per_position"].items()):
        print(f"  position {pos + 1}: ready->submitted p50 {pct(samples, 0.5):.0f} ms, "
              f"p99 {pct(samples, 0.99):.0f} ms (n={len(samples)})")
    print(f"\nreproduce: .venv/bin/python bench/bench_sequence.py --accounts {args.accounts} "
          f"--chain {args.chain} --ledger-seconds {args.ledger_seconds} --processes {args.processes}")


if __name__ == "__main__":
    main()
