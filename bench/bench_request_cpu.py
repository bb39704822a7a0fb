"""CPU time per request of the app process, A/B between builds of the app, alternated.

    .venv/bin/python bench/bench_request_cpu.py --builds before=/path/to/checkout,after=.
                                                [--rounds 2] [--seconds 5] [--count 4000]

On a shared machine req/s moves with everyone else's load; the CPU time the app's own process
spends per request moves much less, so a change to the request path is measured by that. Each
build is a checkout of this repository (its ``app`` package is imported from there, with this
virtualenv), started as ``refractor serve`` does in the isolated setup of ``bench_api.py``: one
source account (always cached), worker off, logging at INFO with the access log (``make run``'s
level, unlike ``bench_api.py --isolated``), SQLite. Per round, each build in turn, on the same
fake network and the same request bodies (each run has a database of its own):
1. ``POST /tx`` create: distinct transactions carrying both signatures;
2. ``GET /tx/{hash}`` over the records of step 1, drawn at random;
3. setup, not measured: ``--count`` other transactions posted with the first signature;
4. ``POST /tx`` add a signature: the second signature to those.
Before each build's run the minimal Starlette route is measured again ("ratio": req/s over it).
CPU time is read from ``/proc/<pid>/task/*/stat`` before and after each wrk run: the whole
process, and the main thread (the event loop: Hypercorn, Starlette, middlewares, access log) apart
from the others (thread pool, SQLite writer).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stellar_sdk import TransactionEnvelope

from bench.bench_api import (
    DEST,
    GET_LUA,
    PASSPHRASE,
    POST_LUA,
    SOLO,
    SOLO_COSIGNERS,
    solo_bodies,
    write_lines,
)
from bench.harness import (
    PY,
    WrkResult,
    baseline_server,
    fake_network,
    post_all,
    process,
    wait_http,
    wrk,
)
from tests.mongo_server import free_port

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(main thread, other threads) CPU seconds (user + system) of a process so far."""
    main = other = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
        spent = (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
        if task.name == str(pid):
            main += spent
        else:
            other += spent
    return main, other


@dataclass
class Measured:
    wrk: WrkResult
    baseline: float
    main_ms: float  # per request
    other_ms: float

    def cell(self) -> str:
        total = self.main_ms + self.other_ms
        return (
            f"{self.wrk.rps:.0f} ({self.wrk.rps / self.baseline:.2f}), {total:.2f} "
            f"[{self.main_ms:.2f} + {self.other_ms:.2f}]"
            + (f", {self.wrk.errors} non-2xx" if self.wrk.errors else "")
        )


@contextmanager
def build_app(source: Path, net: dict[str, str], tmp: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    config = {
        "port": port,
        "storage": "sqlite",
        "db": str(tmp / "bench.db"),
        "rateLimit": False,
        "adminToken": "b" * 32,
        "runWorker": False,
        "accountCacheTtl": 30,
        "networks": {"testnet": {"rpc": net["rpc"], "horizon": net["horizon"]}},
    }
    path = tmp / "config.json"
    path.write_text(json.dumps(config))
    # ``python -m app`` from the checkout: its app package comes first on sys.path.
    with process(
        [PY, "-m", "app", "serve"],
        env={"REFRACTOR_CONFIG": str(path), "PYTHONPATH": str(source)},
        log=tmp / "app.log",
        cwd=source,
    ) as proc:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(base + "/monitoring/health", timeout=120)  # a loaded machine starts slowly
        except RuntimeError:
            raise SystemExit(
                f"{source}: the app did not start:\n" + (tmp / "app.log").read_text()[-3000:]
            ) from None
        yield base, proc.pid


def measured(pid: int, baseline: float, url: str, seconds: int, **kw: object) -> Measured:
    main0, other0 = cpu_seconds(pid)
    result = wrk(url, seconds, **kw)  # type: ignore[arg-type]
    main1, other1 = cpu_seconds(pid)
    n = max(1, result.requests)
    return Measured(result, baseline, (main1 - main0) * 1000 / n, (other1 - other0) * 1000 / n)


def run_build(
    source: Path, net: dict[str, str], seconds: int, bodies: dict[str, Path], count: int
) -> dict[str, Measured]:
    with baseline_server() as baseline_url:
        baseline = wrk(baseline_url + "/tx/x", seconds).rps
    out: dict[str, Measured] = {}
    with tempfile.TemporaryDirectory() as tmp_name, build_app(source, net, Path(tmp_name)) as (base, pid):
        out["create"] = measured(
            pid, baseline, base, seconds, script=POST_LUA, env={"BODIES": str(bodies["create"])}
        )
        if out["create"].wrk.requests > count:
            print(
                f"note: create ran {out['create'].wrk.requests} requests for {count} bodies; "
                "the rest repeated earlier ones (raise --count)",
                file=sys.stderr,
            )
        # wrk -t1 takes the bodies in order, but one it took for a request it then did not send
        # (a connection's last, at the end of the run) leaves a gap: GETs go to the records
        # stored, looked up once first.
        prefix = bodies["hashes"].read_text().splitlines()[: min(count, out["create"].wrk.requests) + 64]
        with httpx.Client(base_url=base, timeout=30) as client:
            stored = [h for h in prefix if client.get(f"/tx/{h}").status_code == 200]
        hashes = write_lines(Path(tmp_name) / "hashes.txt", stored)
        out["GET"] = measured(pid, baseline, base, seconds, script=GET_LUA, env={"HASHES": str(hashes)})
        failed = post_all(base, bodies["first"].read_text().splitlines())
        if failed:
            raise SystemExit(f"{source}: {failed} setup requests failed")
        out["add"] = measured(
            pid, baseline, base, seconds, script=POST_LUA, env={"BODIES": str(bodies["second"])}
        )
        if out["add"].wrk.requests > count:
            print(f"note: add ran {out['add'].wrk.requests} requests for {count} bodies", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--builds", required=True, help="name=checkout pairs, comma separated, e.g. before=/tmp/a,after=."
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--count", type=int, default=4000)
    args = parser.parse_args()
    builds = [
        (name, Path(path).resolve()) for name, path in (pair.split("=", 1) for pair in args.builds.split(","))
    ]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        print(f"preparing {3 * args.count:,} signed transactions...", file=sys.stderr)
        bodies = {
            "create": solo_bodies(tmp / "create.txt", 10_000_000, args.count, "both"),
            "first": solo_bodies(tmp / "first.txt", 20_000_000, args.count, "first"),
            "second": solo_bodies(tmp / "second.txt", 20_000_000, args.count, "second"),
        }
        bodies["hashes"] = write_lines(
            tmp / "hashes.txt",
            [
                TransactionEnvelope.from_xdr(json.loads(line)["xdr"], PASSPHRASE).hash_hex()
                for line in bodies["create"].read_text().splitlines()
            ],
        )
        ledger = write_lines(tmp / "accounts.json", [json.dumps([{"id": DEST}])])
        with fake_network(ledger) as net:
            httpx.post(
                net["control"] + "/accounts",
                json={
                    "account_id": SOLO.public_key,
                    "master_weight": 0,
                    "low": 2,
                    "med": 2,
                    "high": 2,
                    "signers": [{"key": k.public_key, "weight": 1} for k in SOLO_COSIGNERS],
                },
            ).raise_for_status()
            for round_no in range(1, args.rounds + 1):
                for name, source in builds:
                    print(f"round {round_no}: {name}...", file=sys.stderr)
                    at = time.strftime("%H:%M", time.gmtime())
                    load = os.getloadavg()[0]
                    got = run_build(source, net, args.seconds, bodies, args.count)
                    rows.append(
                        f"| {name} | {round_no}, {at}, {load:.1f} | "
                        + " | ".join(got[k].cell() for k in ("create", "GET", "add"))
                        + " |"
                    )
    print(
        f"request CPU, {started}, load average at the start {load_before[0]:.2f} "
        f"{load_before[1]:.2f} {load_before[2]:.2f}, wrk -t1 -c32 -d{args.seconds}s"
    )
    print(
        "cells: req/s (ratio to the baseline just before), CPU ms per request "
        "[event-loop thread + other threads]"
    )
    print("| build | round, UTC, load | create | GET | add a signature |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    command = [
        "bench/bench_request_cpu.py",
        "--builds",
        args.builds,
        "--rounds",
        str(args.rounds),
        "--seconds",
        str(args.seconds),
        "--count",
        str(args.count),
    ]
    print(f"\nreproduce: .venv/bin/python {shlex.join(command)}")


if __name__ == "__main__":
    main()
