"""Shared pieces of the benchmarks: the fake network and the app as separate processes, wrk runs,
and a framework baseline measured in the same run so results compare as ratios."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
sys.path.insert(0, str(ROOT))

from tests.mongo_server import free_port, mongo_server  # noqa: E402
from tests.subprocesses import stop_process  # noqa: E402


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0

    def row(self, name: str, baseline: float | None = None) -> str:
        ratio = f"{self.rps / baseline:5.2f}" if baseline else "    -"
        return (f"| {name:<66} | {self.rps:8.0f} | {self.p50_ms:7.2f} | {self.p99_ms:7.2f} | "
                f"{ratio} | {self.errors} |")


HEADER = (f"| {'benchmark':<66} |    req/s | p50 ms  | p99 ms  | ratio | non-2xx |\n"
          f"|{'-' * 68}|----------|---------|---------|-------|---------|")


def _ms(text: str) -> float:
    found = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if found is None:
        raise ValueError(f"unexpected wrk latency {text!r}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(url: str, seconds: float = 8, connections: int = 32, script: Path | None = None,
        env: dict[str, str] | None = None) -> WrkResult:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", url]
    if script is not None:
        cmd[1:1] = ["-s", str(script)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout
    if "Latency Distribution" not in out:
        raise RuntimeError(f"wrk gave no latency figures:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    dist = out.split("Latency Distribution", 1)[1]
    p50 = _ms(re.search(r"50%\s+(\S+)", dist).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", dist).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return WrkResult(rps, p50, p99, int(bad.group(1)) if bad else 0,
                     int(total.group(1)) if total else 0)


def post_all(base: str, bodies: list[str], connections: int = 32, path: str = "/tx") -> int:
    """POST every body once over keep-alive connections (loading a store before a measured run;
    wrk cannot stop after N requests). Returns how many answers were not 2xx."""
    host, port = base.removeprefix("http://").split(":")
    queue = list(reversed(bodies))
    failures = 0

    async def connection() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection(host, int(port))
        while queue:
            body = queue.pop().encode()
            writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: "
                         f"application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            failures += not 200 <= status < 300
        writer.close()

    async def run() -> None:
        await asyncio.gather(*(connection() for _ in range(connections)))

    asyncio.run(run())
    return failures


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer")
        time.sleep(0.1)


@contextmanager
def process(cmd: list[str], env: dict[str, str] | None = None, log: Path | None = None,
            cwd: Path = ROOT) -> Iterator[subprocess.Popen[bytes]]:
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=out,
                            stderr=subprocess.STDOUT, cwd=cwd)
    try:
        yield proc
    finally:
        stop_process(proc, timeout=20)


def pin_to(cpu: int | None) -> Any:
    """A preexec_fn that pins the child to one core, or None where that is not possible."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    if cpu not in os.sched_getaffinity(0):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


@contextmanager
def fake_network(accounts: Path | None = None, cpu: int | None = None) -> Iterator[dict[str, str]]:
    """The fake Stellar network in its own process (so it does not share our GIL), with the
    accounts of a JSON file, optionally pinned to one core."""
    cmd = [PY, "-m", "tests.fakenet", "--port", "0"]
    if accounts is not None:
        cmd += ["--accounts", str(accounts)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            preexec_fn=pin_to(cpu))
    try:
        assert proc.stdout is not None
        urls: dict[str, str] = json.loads(proc.stdout.readline())
        yield urls
    finally:
        proc.terminate()
        proc.wait(20)


@contextmanager
def storage(engine: str) -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        if engine == "sqlite":
            yield "sqlite", str(Path(tmp) / "bench.db")
        else:
            with mongo_server(Path(tmp)) as url:
                yield "mongodb", url.rstrip("/") + "/bench"


# The best case of earlier benchmarks, kept for "isolated" rows only: nobody runs the app so.
ISOLATED: dict[str, Any] = {"logLevel": "WARNING", "accountCacheTtl": 30, "runWorker": False}


@contextmanager
def app(net: dict[str, str], engine: str, db: str, **extra: Any) -> Iterator[str]:
    """The app as ``make run`` starts it (worker on, default logging and caches), on its own
    port and database. Rate limits are off: every request comes from one client address."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        config = {"port": port, "storage": engine, "db": db, "rateLimit": False,
                  "adminToken": "b" * 32,
                  "networks": {"testnet": {"rpc": net["rpc"], "horizon": net["horizon"]}},
                  "callbacks": {"allowPrivateNetworks": True}, **extra,
                  # A variant measured against the defaults, e.g. '{"maxParallelTasks": 16}'.
                  **json.loads(os.environ.get("BENCH_APP_CONFIG") or "{}")}
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config))
        refractor = str(Path(PY).with_name("refractor"))
        with process([refractor, "serve"], env={"REFRACTOR_CONFIG": str(path)},
                     log=Path(os.environ.get("BENCH_APP_LOG", Path(tmp) / "app.log"))) as proc:
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/monitoring/health")
            APP_PIDS[base] = proc.pid
            try:
                yield base
            finally:
                APP_PIDS.pop(base, None)


APP_PIDS: dict[str, int] = {}  # base URL -> pid of the app process serving it (workers 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc), all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


BASELINE_APP = '''
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
async def hello(request):
    return JSONResponse({"hash": "0" * 64, "status": "pending"})
app = Starlette(routes=[Route("/{path:path}", hello)])
'''


@contextmanager
def baseline_server() -> Iterator[str]:
    """A minimal Starlette JSON route on the same Hypercorn/uvloop stack: the framework ceiling."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "baseline_app.py").write_text(BASELINE_APP)
        hypercorn = str(Path(PY).with_name("hypercorn"))
        with process([hypercorn, "-k", "uvloop", "-b", f"127.0.0.1:{port}", "baseline_app:app"],
                     env={"PYTHONPATH": tmp},
                     log=Path(tmp) / "baseline.log"):
            base = f"http://127.0.0.1:{port}"
            wait_http(base + "/x")
            yield base
