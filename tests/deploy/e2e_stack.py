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
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import yaml

from tests.deploy.tools import ROOT, run
from tests.subprocesses import stop_process

HOST_INDEX = 31  # inventories/e2e/hosts.yml: e2e-web is 10.213.31.2
HOST_SIDE = f"10.213.{HOST_INDEX}.1"
TARGET = f"10.213.{HOST_INDEX}.2"
LAN_HOST_SIDE = "10.213.30.1"  # scripts/e2e/hosts.sh: the shared LAN every target is on
REQUIRED_TOOLS = ["debootstrap", "systemd-nspawn", "ip", "ssh", "ssh-keygen", "apt-cacher-ng"]


def unavailable_reason(extra_tools: tuple[str, ...] = ()) -> str | None:
    if os.geteuid() != 0:
        return "the deploy e2e tests need root (debootstrap, systemd-nspawn, network namespaces)"
    tools = [*REQUIRED_TOOLS, *extra_tools]
    missing = [t for t in tools if not shutil.which(t) and not Path(f"/usr/sbin/{t}").exists()]
    if missing:
        return f"missing tools {missing}: run scripts/install-system-deps.sh"
    return None


def harness(
    *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    script = {
        "up": "hosts.sh",
        "down": "hosts.sh",
        "ssh": "hosts.sh",
        "start": "aptproxy.sh",
        "stop": "aptproxy.sh",
    }[args[0]]
    return run(["bash", f"scripts/e2e/{script}", *args], timeout=timeout, env=env)


def ssh(
    command: str, check: bool = True, timeout: float = 120, host: int = HOST_INDEX
) -> subprocess.CompletedProcess[str]:
    return run(["bash", "scripts/e2e/hosts.sh", "ssh", str(host), command], check=check, timeout=timeout)


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
    """Receives the monitoring role's webhook alerts and Alertmanager's (/alert), the dead-man
    switch's pings (/ping/<host>) and transaction callbacks (/callback, answered with
    ``callback_status``)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int]) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.pings: list[str] = []
        self.callbacks: list[tuple[int, dict[str, Any]]] = []  # (status answered, body)
        self.callback_status = 204
        super().__init__(address, _SinkHandler)


class _SinkHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        sink: AlertSink = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = 204
        if self.path.startswith("/ping/"):
            sink.pings.append(self.path.removeprefix("/ping/"))
        elif self.path.startswith("/callback"):
            status = sink.callback_status
            sink.callbacks.append((status, json.loads(body)))
        else:
            try:
                sink.alerts.append(json.loads(body))
            except ValueError:
                sink.alerts.append({"raw": body.decode(errors="replace")})
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class Stack:
    """One e2e environment (an inventory under inventories/): hosts, apt proxy, fake network, alert
    sink and optionally a MongoDB-wire server, all on `service_address`. stop() undoes whatever
    start() did, even half-way."""

    def __init__(
        self,
        workdir: Path,
        env: str = "e2e",
        hosts: tuple[int, ...] = (HOST_INDEX,),
        service_address: str = HOST_SIDE,
        mongo: bool = False,
        generate_callback_secret: bool = False,
        bootstrap: bool = False,
        no_direct_ssh: tuple[int, ...] = (),
        conntrack_on_demand: tuple[int, ...] = (),
        preinstalled: dict[int, tuple[str, ...]] | None = None,
        build_dir: Path | None = None,
    ) -> None:
        # Hosts booted as a fresh VM is: no connection tracking until a rule needs it (hosts.sh).
        self.conntrack_on_demand = conntrack_on_demand
        self.bootstrap = bootstrap
        # Hosts whose LAN address refuses SSH from this machine: the inventory reaches them through
        # another host (ProxyJump). The harness's own path to them (10.213.N.2) stays open.
        self.no_direct_ssh = no_direct_ssh
        # Host index -> Debian packages already in its image (hosts whose fresh install isn't tested).
        self.preinstalled = preinstalled or {}
        self.bootstrap_output = ""
        self.known_hosts = workdir / "known_hosts"
        # Without a callback secret in the inventory, the base role must generate one.
        self.generate_callback_secret = generate_callback_secret
        self.workdir, self.env, self.hosts, self.address, self.mongo = (
            workdir,
            env,
            hosts,
            service_address,
            mongo,
        )
        self.generated = ROOT / "inventories" / env / "group_vars" / "all" / "generated.yml"
        self.fakenet: subprocess.Popen[str] | None = None
        self.mongod: subprocess.Popen[str] | None = None
        self.relay: _Relay | None = None
        self.sink: AlertSink | None = None
        self.control_url = ""
        self.admin_token = secrets.token_hex(24)
        # The first release (tests copy it or build others; none writes into it).
        self.build_dir = build_dir or workdir / "build"
        self.generated_vars: dict[str, Any] = {}
        self.last_deploy_output = ""
        self._lock: IO[str] | None = None

    def start(self) -> None:
        self._take_lock()
        self._stop_hosts()  # leftovers of a run that was killed
        # The release is built on this machine while the hosts boot and are bootstrapped.
        build_errors: list[BaseException] = []
        builder = threading.Thread(target=self._build_into, args=(self.build_dir, build_errors))
        builder.start()
        try:
            self._start_hosts_and_services()
        finally:
            builder.join()
        if build_errors:
            raise build_errors[0]

    def _build_into(self, out: Path, errors: list[BaseException]) -> None:
        try:
            self.build(out)
        except BaseException as exc:  # re-raised by start()
            errors.append(exc)

    def _start_hosts_and_services(self) -> None:
        specs = [
            f"{n}:{','.join(self.preinstalled[n])}" if self.preinstalled.get(n) else str(n)
            for n in self.hosts
        ]
        # On a machine's first run this builds the images too (base and packages: about 10 min
        # measured on a loaded 2-core machine).
        harness(
            "up",
            *specs,
            timeout=1800,
            env={"E2E_CONNTRACK_ON_DEMAND": " ".join(map(str, self.conntrack_on_demand))},
        )
        for n in self.no_direct_ssh:
            self._refuse_direct_ssh(n)
        harness("start", self.address)
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
        self.relay = _Relay((self.address, 0), ("127.0.0.1", port))
        threading.Thread(target=self.relay.serve_forever, daemon=True).start()
        self.sink = AlertSink((self.address, 0))
        threading.Thread(target=self.sink.serve_forever, daemon=True).start()
        relayed = f"http://{self.address}:{self.relay.server_address[1]}"
        secrets_ = {"admin_token": self.admin_token}
        if not self.generate_callback_secret:
            secrets_["callback_secret"] = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        if self.mongo:
            secrets_["db"] = f"mongodb://{self.address}:{self._start_mongo()}/refractor"
        sink_url = f"http://{self.address}:{self.sink.server_address[1]}"
        private_key, public_key = self._backup_key()
        generated = {
            "base_apt_proxy": f"http://{self.address}:3149",
            "refractor_secrets": secrets_,
            "refractor_alert_webhook_url": f"{sink_url}/alert",
            "refractor_deadman_url": sink_url + "/ping/{host}",
            # restic, where the inventory names a repository; the key pair for an SFTP one.
            "backup_restic_password": secrets.token_urlsafe(24),
            "backup_restic_ssh_private_key": private_key,
            "refractor_backup_ssh_public_key": public_key,
            "refractor_networks": {
                "testnet": {
                    "passphrase": "Test SDF Network ; September 2015",
                    "horizon": f"{relayed}/horizon",
                    "rpc": f"{relayed}/rpc",
                }
            },
        }
        self.generated_vars = generated
        self.generated.write_text(yaml.safe_dump(generated, sort_keys=True))
        if self.bootstrap:
            self.bootstrap_output = self.run_bootstrap()

    @contextlib.contextmanager
    def inventory_vars(self, **extra: Any) -> Iterator[None]:
        """Inventory variables (group all) added for the length of the block, then taken out again."""
        self.generated.write_text(yaml.safe_dump({**self.generated_vars, **extra}, sort_keys=True))
        try:
            yield
        finally:
            self.generated.write_text(yaml.safe_dump(self.generated_vars, sort_keys=True))

    def _refuse_direct_ssh(self, n: int) -> None:
        """A firewall rule in host n's network namespace (its own nftables table, which the host's
        ufw leaves alone): SSH from this machine to the host's LAN address is refused."""
        rules = (
            "table inet refractor_e2e {\n  chain input {\n"
            "    type filter hook input priority -10; policy accept;\n"
            f"    ip saddr {{ {LAN_HOST_SIDE}, 10.213.{n}.1 }} ip daddr 10.213.30.{n} tcp dport 22"
            " reject with tcp reset\n  }\n}\n"
        )
        run(["ip", "netns", "exec", f"reft{n}", "nft", "-f", "-"], input=rules)

    def _backup_key(self) -> tuple[str, str]:
        key = self.workdir / "backup_key"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "refractor-backup", "-f", str(key)])
        return key.read_text(), key.with_suffix(".pub").read_text().strip()

    @property
    def sink_url(self) -> str:
        assert self.sink is not None
        return f"http://{self.address}:{self.sink.server_address[1]}"

    def run_bootstrap(self, check: bool = True) -> str:
        """`make bootstrap` on every host: root only, with the test key, as a fresh VM."""
        proc = run(
            ["make", "-s", "bootstrap", f"ENV={self.env}", "HOST=all"],
            env={"REFRACTOR_KNOWN_HOSTS": str(self.known_hosts)},
            timeout=600,
            check=check,
        )
        return proc.stdout + proc.stderr

    def _take_lock(self) -> None:
        # One e2e environment at a time per machine: another would tear this one's hosts down.
        self._lock = open("/run/refractor-e2e.lock", "w")  # noqa: SIM115 - held until stop()
        deadline = time.time() + 1800
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.time() > deadline:
                    raise RuntimeError("another deploy e2e run holds /run/refractor-e2e.lock") from None
                time.sleep(2)

    def _start_mongo(self) -> int:
        """SecantusDB (MongoDB wire protocol, test-only) as the "external" database."""
        with socket.socket() as probe:
            probe.bind((self.address, 0))
            port = int(probe.getsockname()[1])
        server = Path(sys.executable).with_name("secantusd-py")
        self.mongod = subprocess.Popen(
            [
                str(server),
                "--host",
                self.address,
                "--port",
                str(port),
                "--storage-path",
                str(self.workdir / "mongo"),
                "--log-level",
                "WARNING",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((self.address, port), timeout=1):
                return port
            time.sleep(0.2)
        raise RuntimeError("the MongoDB-wire test server did not start")

    def build(self, out: Path, suffix: str = "", from_source: str = "") -> str:
        """provisioning/build.sh into `out`; `from_source` names dependencies shipped as sdists."""
        # The build machine pretends to be arm64 (pip's platform tags say aarch64): the release must
        # still carry the target's x86_64 wheels, which the hosts install with --require-hashes.
        env = {"_PYTHON_HOST_PLATFORM": "linux-aarch64"}
        if suffix:
            env["REFRACTOR_BUILD_SUFFIX"] = suffix
        if from_source:
            env["REFRACTOR_BUILD_FROM_SOURCE"] = from_source
        return run(["bash", "provisioning/build.sh", str(out)], env=env, timeout=900).stdout.strip()

    def deploy(
        self, *args: str, build_dir: Path | None = None, check: bool = True, timeout: float = 1800
    ) -> subprocess.CompletedProcess[str]:
        # A first deploy took 491 s on a machine at load 30: room to spare, a hang still ends.
        if args:
            command = ["bash", "scripts/deploy.sh", self.env, *args]
        else:
            command = ["make", "-s", "deploy", f"ENV={self.env}"]
        env = {"REFRACTOR_BUILD_DIR": str(build_dir or self.build_dir)}
        proc = run(command, check=check, timeout=timeout, env=env)
        self.last_deploy_output = proc.stdout + proc.stderr
        return proc

    def stop(self) -> None:
        if os.environ.get("REFRACTOR_E2E_KEEP") == "1":
            print(
                "REFRACTOR_E2E_KEEP=1: hosts left up; scripts/e2e/hosts.sh down "
                f"{' '.join(map(str, self.hosts))} and scripts/e2e/aptproxy.sh stop remove them",
                file=sys.stderr,
            )
            return
        for step in (
            self._stop_network_helpers,
            self._stop_hosts,
            lambda: self.generated.unlink(missing_ok=True),
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
        for proc in (self.fakenet, self.mongod):
            if proc is not None:
                stop_process(proc)

    def _stop_hosts(self) -> None:
        run(["bash", "scripts/e2e/aptproxy.sh", "stop"], check=False)
        run(["bash", "scripts/e2e/hosts.sh", "down", *map(str, self.hosts)], check=False, timeout=300)
