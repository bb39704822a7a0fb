"""FakeStellarNetwork: one loopback HTTP server serving Stellar RPC (/rpc), Horizon (/horizon)
and the control API (/_fake) over the same Ledger."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .control import ControlApi
from .faults import Faults
from .horizon import HorizonApi, not_found
from .ledger import Ledger
from .rpc import RpcApi
from .wire import Reply, Transport, json_reply

MAX_BODY = 4 * 1024 * 1024


# The deploy tests' own hosts live in network namespaces on this range (scripts/e2e); the fake
# must be reachable from them, and from nowhere else.
_TEST_HOSTS = ipaddress.ip_network("10.213.0.0/16")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address in _TEST_HOSTS


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    # socketserver's default backlog is 5: apps with dozens of worker threads opening connections
    # at once overflowed it, and the kernel reset some of them (ReadError in the app).
    request_queue_size = 1024
    network: FakeStellarNetwork

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up (timeouts, dropped connections) are part of the tests.
        pass


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "fakenet"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Header and body go out in one write, but keep small replies from waiting on Nagle.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_OPTIONS(self) -> None:
        # CORS preflight, for pages that talk to the fake straight from a browser.
        allow = {
            "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": "*",
            "Access-Control-Max-Age": "600",
        }
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(Reply(204, b"", "text/plain", headers=allow))

    def _serve(self, verb: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(json_reply({"error": "body too large"}, 413))
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        content_type = self.headers.get("Content-Type") or ""
        reply = self.server.network.route(verb, path, query, body, content_type)
        if reply.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        head = [f"HTTP/1.1 {reply.status} {self.responses.get(reply.status, ('',))[0]}"]
        head.append(f"Content-Type: {reply.content_type}")
        head.append(f"Content-Length: {len(reply.body)}")
        head.append("Access-Control-Allow-Origin: *")
        head.extend(f"{k}: {v}" for k, v in reply.headers.items())
        if self.close_connection:
            head.append("Connection: close")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + reply.body
        try:
            self.wfile.write(payload)
        except OSError:
            self.close_connection = True


class FakeStellarNetwork:
    """Usage::

    with FakeStellarNetwork() as net:
        net.ledger.create_account(kp.public_key, low=1, med=2, high=2, signers=[...])
        SorobanServer(net.rpc_url).send_transaction(envelope)
        net.faults.add("sendTransaction", "TRY_AGAIN_LATER", times=2)
    """

    def __init__(
        self,
        ledger: Ledger | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        passphrase: str | None = None,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"the fake network only binds loopback or test-host addresses, not {host!r}")
        if ledger is None:
            ledger = Ledger(passphrase) if passphrase else Ledger()
        self.ledger = ledger
        self.faults = Faults()
        self.host = host
        self.port = port
        self._stopping = threading.Event()
        self._transport = Transport(self._stopping)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.rpc = RpcApi(self.ledger, self.faults, self._transport)
        self.control = ControlApi(self.ledger, self.faults)
        self.horizon: HorizonApi | None = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def rpc_url(self) -> str:
        return self.base_url + "/rpc"

    @property
    def horizon_url(self) -> str:
        return self.base_url + "/horizon"

    @property
    def control_url(self) -> str:
        return self.base_url + "/_fake"

    def start(self) -> FakeStellarNetwork:
        if self._server is not None:
            return self
        server_class: type[_Server] = _Server6 if ":" in self.host else _Server
        server = server_class((self.host, self.port), _Handler)
        server.network = self
        self.port = server.server_address[1]
        self.horizon = HorizonApi(self.ledger, self.faults, self._transport, self.horizon_url)
        self._stopping.clear()
        self._server = server
        # A short poll interval keeps stop() (and so every test teardown) fast.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fakenet", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeStellarNetwork:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def stats(self) -> dict[str, int]:
        """Requests received per method key (JSON-RPC method or Horizon route)."""
        return self.faults.requests()

    def request_count(self, method: str) -> int:
        return self.faults.requests().get(method, 0)

    def route(self, verb: str, path: str, query: str, body: bytes, content_type: str) -> Reply:
        if path in ("/rpc", "/rpc/") and verb == "POST":
            return self.rpc.handle(body)
        if path == "/horizon" or path.startswith("/horizon/"):
            assert self.horizon is not None
            return self.horizon.handle(verb, path[len("/horizon") :], body, content_type)
        if path.startswith("/_fake/"):
            return self.control.handle(verb, path[len("/_fake/") :], query, body)
        return not_found()
