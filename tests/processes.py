"""Real ``refractor serve`` processes for tests that need several of them, or kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests import loopback
from tests.ports import free_port
from tests.subprocesses import stop_process


class AppProcess:
    def __init__(self, config: dict[str, Any], workdir: Path, name: str,
                 args: tuple[str, ...] = ("serve",)) -> None:
        self.args = args
        self.port = free_port()
        # ``refractor worker`` has no API: its only listener is the health check.
        self.health_port = free_port() if args[0] == "worker" else self.port
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / f"{name}.json"
        self.config_path.write_text(json.dumps({**config, "port": self.port}))
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AppProcess:
        command = Path(sys.executable).with_name("refractor")
        env = {**os.environ, "REFRACTOR_CONFIG": str(self.config_path)}
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen([str(command), *self.args,
                                          *self._health_args()], env=env, stdout=log,
                                         stderr=subprocess.STDOUT)
        # Generous: a fresh interpreter importing the app takes seconds on a loaded machine; the
        # loop returns as soon as the app answers.
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited: {self.log_path.read_text()[-2000:]}")
            try:
                if loopback.get(self.health_url, timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"app not healthy: {self.log_path.read_text()[-2000:]}")
            time.sleep(0.1)

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/monitoring/health"

    def _health_args(self) -> list[str]:
        return ["--health-port", str(self.health_port)] if self.args[0] == "worker" else []

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=20)
