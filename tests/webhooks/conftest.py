"""Real HTTP receivers on loopback, plus a fence that keeps every test connection on loopback."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import pytest


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    promised_length: int = 0  # Content-Length announced; only a few bytes are ever written


class _Server(ThreadingHTTPServer):
    # Join handler threads on close so no test leaves a thread writing to a dead socket.
    daemon_threads = False
    block_on_close = True
    receiver: Receiver

    def get_request(self) -> tuple[socket.socket, Any]:
        request = super().get_request()
        self.receiver.connections += 1
        return request


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        with receiver.lock:
            receiver.hits.append(
                Hit(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            answer = receiver.script.pop(0) if receiver.script else Answer()
        if answer.delay and receiver.release.wait(answer.delay):
            return
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(answer.promised_length))
            self.end_headers()
            if answer.promised_length:
                self.wfile.write(b"x" * 16)
                self.wfile.flush()
                receiver.release.wait(30)
        except OSError:
            pass  # the client gave up first, which is what several tests want

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """A threaded HTTP server that records every request and answers from a script."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.hits: list[Hit] = []
        self.script: list[Answer] = []
        self.connections = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        server_class = _Server6 if ":" in host else _Server
        self.server = server_class((host, 0), _Handler)
        self.server.receiver = self
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.host = host
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def url(self, path: str = "/hook", scheme: str = "http", host: str | None = None) -> str:
        name = host or self.host
        if ":" in name:
            name = f"[{name}]"
        return f"{scheme}://{name}:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        with self.lock:
            self.script.extend(answers)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@pytest.fixture
def receiver_factory() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Receiver:
        made.append(Receiver(host, tls))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def receiver(receiver_factory: Callable[..., Receiver]) -> Receiver:
    return receiver_factory()


@pytest.fixture
def ipv6_loopback() -> str:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    return "::1"


@pytest.fixture(autouse=True)
def connect_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address httpcore really connects to; anything off loopback fails the test instead.

    This is a safety fence, not a mock: loopback connections go through the real backend.
    """
    attempts: list[str] = []
    real = httpcore.SyncBackend.connect_tcp

    def fenced(
        self: httpcore.SyncBackend,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        attempts.append(host)
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            pytest.fail(f"test tried to connect to non-loopback {host}")
        return real(self, host, port, timeout, local_address, socket_options)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", fenced)
    return attempts
