"""The e2e environment: throwaway systemd hosts, apt proxy, fake Stellar network, alert sink.

Everything listens on loopback or on the host side of the veth pairs this harness creates
(10.213.N.1); nothing else is contacted.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import yaml

from tests.deploy.tools import ROOT, run

HOST_INDEX = 31  # inventories/e2e/hosts.yml: e2e-web is 10.213.31.2
HOST_SIDE = f"10.213.{HOST_INDEX}.1"
TARGET = f"10.213.{HOST_INDEX}.2"
GENERATED = ROOT / "inventories" / "e2e" / "group_vars" / "all" / "generated.yml"
REQUIRED_TOOLS = ["debootstrap", "systemd-nspawn", "ip", "ssh", "ssh-keygen", "apt-cacher-ng"]


def unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "the deploy e2e tests need root (debootstrap, systemd-nspawn, network namespaces)"
    missing = [t for t in REQUIRED_TOOLS if not shutil.which(t) and not Path(f"/usr/sbin/{t}").exists()]
    if missing:
        return f"missing tools {missing}: run scripts/install-system-deps.sh"
    return None


def harness(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    script = {
        "up": "hosts.sh",
        "down": "hosts.sh",
        "ssh": "hosts.sh",
        "start": "aptproxy.sh",
        "stop": "aptproxy.sh",
    }[args[0]]
    return run(["bash", f"scripts/e2e/{script}", *args], timeout=timeout)


def ssh(command: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return run(
        ["bash", "scripts/e2e/hosts.sh", "ssh", str(HOST_INDEX), command], check=check, timeout=timeout
    )


class _Relay(socketserver.ThreadingTCPServer):
    """Forwards HOST_SIDE:port to the fake network on loopback (it binds loopback only)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.target = target
        super().__init__(listen, _RelayHandler)


class _RelayHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        upstream = socket.create_connection(self.server.target)  # type: ignore[attr-defined]

        def pump(src: socket.socket, dst: socket.socket) -> None:
            try:
                while data := src.recv(65536):
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    with contextlib.suppress(OSError):
                        s.shutdown(socket.SHUT_RDWR)

        t = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
        t.start()
        pump(self.request, upstream)
        t.join(timeout=5)
        upstream.close()


class AlertSink(ThreadingHTTPServer):
    """Receives the monitoring role's webhook alerts."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        self.alerts: list[dict[str, Any]] = []
        super().__init__(address, _SinkHandler)


class _SinkHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            self.server.alerts.append(json.loads(body))  # type: ignore[attr-defined]
        except ValueError:
            self.server.alerts.append({"raw": body.decode(errors="replace")})  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class Stack:
    """Started by the session fixture; stop() undoes everything start() did, even half-way."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.fakenet: subprocess.Popen[str] | None = None
        self.relay: _Relay | None = None
        self.sink: AlertSink | None = None
        self.control_url = ""
        self.admin_token = secrets.token_hex(24)
        self.build_dir = workdir / "build"
        self._lock: IO[str] | None = None

    def start(self) -> None:
        # One e2e run per machine: another test session would tear this one's host down.
        self._lock = open("/run/refractor-e2e.lock", "w")  # noqa: SIM115 - held until stop()
        deadline = time.time() + 1800
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() > deadline:
                    raise RuntimeError("another deploy e2e run holds /run/refractor-e2e.lock") from None
                time.sleep(2)
        self._cleanup_leftovers()
        harness("up", str(HOST_INDEX), timeout=900)
        harness("start", HOST_SIDE)
        self.fakenet = subprocess.Popen(
            [sys.executable, "-m", "tests.fakenet", "--port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.fakenet.stdout is not None
        urls = json.loads(self.fakenet.stdout.readline())
        port = int(urls["rpc"].split(":")[2].split("/")[0])
        self.control_url = urls["control"]
        self.relay = _Relay((HOST_SIDE, 0), ("127.0.0.1", port))
        threading.Thread(target=self.relay.serve_forever, daemon=True).start()
        self.sink = AlertSink((HOST_SIDE, 0))
        threading.Thread(target=self.sink.serve_forever, daemon=True).start()
        relayed = f"http://{HOST_SIDE}:{self.relay.server_address[1]}"
        GENERATED.write_text(
            yaml.safe_dump(
                {
                    "base_apt_proxy": f"http://{HOST_SIDE}:3149",
                    "refractor_secrets": {
                        "admin_token": self.admin_token,
                        "callback_secret": "whsec_" + base64.b64encode(os.urandom(24)).decode(),
                    },
                    "refractor_alert_webhook_url": f"http://{HOST_SIDE}:{self.sink.server_address[1]}/alert",
                    "refractor_networks": {
                        "testnet": {
                            "passphrase": "Test SDF Network ; September 2015",
                            "horizon": f"{relayed}/horizon",
                            "rpc": f"{relayed}/rpc",
                        }
                    },
                },
                sort_keys=True,
            )
        )
        self.build(self.build_dir)

    def build(self, out: Path, suffix: str = "") -> str:
        env = {"REFRACTOR_BUILD_SUFFIX": suffix} if suffix else {}
        return run(["bash", "provisioning/build.sh", str(out)], env=env, timeout=900).stdout.strip()

    def deploy(
        self, *args: str, build_dir: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = ["bash", "scripts/deploy.sh", "e2e", *args] if args else ["make", "-s", "deploy", "ENV=e2e"]
        return run(
            command, check=check, timeout=900, env={"REFRACTOR_BUILD_DIR": str(build_dir or self.build_dir)}
        )

    def stop(self) -> None:
        if os.environ.get("REFRACTOR_E2E_KEEP") == "1":
            print(
                f"REFRACTOR_E2E_KEEP=1: hosts left up; scripts/e2e/hosts.sh down {HOST_INDEX} "
                "and scripts/e2e/aptproxy.sh stop remove them",
                file=sys.stderr,
            )
            return
        for step in (
            self._stop_network_helpers,
            self._stop_hosts,
            lambda: GENERATED.unlink(missing_ok=True),
            self._release_lock,
        ):
            try:
                step()
            except Exception as exc:
                print(f"e2e teardown: {exc}", file=sys.stderr)

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _stop_network_helpers(self) -> None:
        for server in (self.relay, self.sink):
            if server is not None:
                server.shutdown()
                server.server_close()
        if self.fakenet is not None and self.fakenet.poll() is None:
            self.fakenet.terminate()
            try:
                self.fakenet.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.fakenet.kill()
                self.fakenet.wait()

    def _stop_hosts(self) -> None:
        run(["bash", "scripts/e2e/aptproxy.sh", "stop"], check=False)
        run(["bash", "scripts/e2e/hosts.sh", "down", str(HOST_INDEX)], check=False, timeout=120)

    def _cleanup_leftovers(self) -> None:
        self._stop_hosts()
