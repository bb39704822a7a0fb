"""Webhook receivers on loopback for every suite: a real threaded HTTP server that records each
request and answers from a script the test writes in advance (status, headers, a delay, a body
that never comes). The ``receiver`` and ``receiver_factory`` fixtures come from here (registered in
tests/conftest.py)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    status: int  # what the receiver answered (or was about to, when the client gave up first)

    def json(self) -> Any:
        return json.loads(self.body)


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
        with receiver.arrived:
            answer = receiver.script.pop(0) if receiver.script else Answer()
            receiver.hits.append(Hit(self.command, self.path,
                                     {k.lower(): v for k, v in self.headers.items()}, body,
                                     answer.status))
            receiver.arrived.notify_all()
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
    """A threaded HTTP server on ``host`` that records every request and answers from a script
    (200 with an empty body once the script is used up)."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.hits: list[Hit] = []
        self.script: list[Answer] = []
        self.connections = 0
        self.arrived = threading.Condition()
        self.lock = self.arrived  # held while a request is recorded
        self.release = threading.Event()
        server_class = _Server6 if ":" in host else _Server
        self.server = server_class((host, 0), _Handler)
        self.server.receiver = self
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port: int = self.server.server_address[1]
        self.host = host
        self.url = self.address()
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def address(self, path: str = "/hook", scheme: str = "http", host: str | None = None) -> str:
        name = host or self.host
        if ":" in name:
            name = f"[{name}]"
        return f"{scheme}://{name}:{self.port}{path}"

    def answer(self, *answers: Answer) -> None:
        with self.lock:
            self.script.extend(answers)

    def accepted(self) -> list[Hit]:
        """The requests answered with a 2xx status: what a receiver that was up has taken."""
        with self.lock:
            return [hit for hit in self.hits if 200 <= hit.status < 300]

    def wait_for(self, predicate: Callable[[list[Hit]], bool], timeout: float = 120) -> list[Hit]:
        """Wait until ``predicate`` holds for the accepted requests; return them."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while not predicate(got := self.accepted()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the receiver got {len(got)} requests, not the awaited ones: "
                                         f"{[hit.body[:200] for hit in got]}")
                self.arrived.wait(left)
            return got

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


def accept_each(listener: socket.socket, stop: threading.Event,
                handle: Callable[[socket.socket], None]) -> None:
    """Serve a raw listening socket until ``stop`` is set or the socket is closed, each connection
    on a thread of its own (blocking). The listener's timeout says how often ``stop`` is looked
    at. For receivers that must misbehave below HTTP (drip, hang up, close mid-answer)."""
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        conn.settimeout(None)
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
