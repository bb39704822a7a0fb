"""A MongoDB-wire server for the tests: SecantusDB run as a separate process (it is GPL, test-only).

``REFRACTOR_TEST_MONGO_URL`` points the suite at a real mongod instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pymongo import MongoClient

from tests.ports import free_port
from tests.subprocesses import stop_process


def _server_command() -> str:
    found = Path(sys.executable).with_name("secantusd-py")
    if found.exists():
        return str(found)
    on_path = shutil.which("secantusd-py")
    if on_path is None:
        raise RuntimeError("secantusd-py is not installed: run `make install-dev` (it comes with "
                           "requirements-dev.lock), or set REFRACTOR_TEST_MONGO_URL to a mongod")
    return on_path


@contextmanager
def mongo_server(workdir: Path, own: bool = False, port: int | None = None) -> Iterator[str]:
    """Yield a mongodb:// URL of a running server; stop it (and wait for it) afterwards.

    ``own`` starts a private server even when REFRACTOR_TEST_MONGO_URL names a shared one (for
    tests that stop it); ``port`` with the same ``workdir`` starts it again where it was, with its
    data (for tests of an outage that ends)."""
    given = os.environ.get("REFRACTOR_TEST_MONGO_URL")
    if given and not own:
        yield given
        return
    port = port or free_port()
    data = workdir / "secantus-data"
    data.mkdir(parents=True, exist_ok=True)
    log = (workdir / "secantus.log").open("wb")
    proc = subprocess.Popen(
        [_server_command(), "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(data)],
        stdout=log, stderr=subprocess.STDOUT)
    url = f"mongodb://127.0.0.1:{port}/"
    try:
        _wait_ready(url, proc)
        yield url
    finally:
        stop_process(proc, timeout=20)
        log.close()


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the MongoDB-wire test server exited with {proc.returncode}")
        try:
            with MongoClient(url, serverSelectionTimeoutMS=300) as client:
                client.admin.command("ping")
                return
        except Exception:  # not accepting connections yet
            time.sleep(0.1)
    raise RuntimeError("the MongoDB-wire test server did not answer within 30 s")
