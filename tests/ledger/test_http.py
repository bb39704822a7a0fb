"""The client of the Stellar RPC and Horizon calls (app/ledger/http.py) against real loopback
servers: connections reused, one overall deadline per call, a cap on calls in flight, stale and
closing connections, and the RPC/Horizon clients' mapping of its failures."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from app.errors import UpstreamUnavailable
from app.ledger import http as ledger_http
from app.ledger.horizon import HorizonClient
from app.ledger.http import LedgerHttp, Timeout, TransportError
from app.ledger.outcomes import Sent
from app.ledger.rpc import RpcClient
from tests.loopback import TLS
from tests.receivers import accept_each

ANSWER = b'{"jsonrpc":"2.0","id":1,"result":{"status":"PENDING"}}'


def ok(body: bytes = ANSWER, extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{extra}\r\n").encode() + body


@dataclass
class Server:
    """A raw HTTP/1.1 server on loopback; ``reply(conn, request)`` answers one request and
    returns False to close the connection."""

    reply: Callable[[socket.socket, bytes], bool]
    url: str = ""
    accepted: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def handle(self, conn: socket.socket) -> None:
        with self.lock:
            self.accepted += 1
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
        buffer = b""
        try:
            while not self.stop.is_set():
                if b"\r\n\r\n" not in buffer:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buffer += data
                    continue
                head, rest = buffer.split(b"\r\n\r\n", 1)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(rest) < length:
                    rest += conn.recv(65536)
                buffer = rest[length:]
                with self.lock:
                    self.requests.append(head + b"\r\n\r\n" + rest[:length])
                if not self.reply(conn, head):
                    return
        except OSError:
            return
        finally:
            conn.close()
            with self.lock:
                self.open_now -= 1


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[socket.socket, bytes], bool]], Server]]:
    listeners: list[tuple[socket.socket, Server]] = []

    def start(reply: Callable[[socket.socket, bytes], bool]) -> Server:
        listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        listener.settimeout(0.2)
        server = Server(reply, url=f"http://127.0.0.1:{listener.getsockname()[1]}/rpc")

        threading.Thread(target=accept_each, args=(listener, server.stop, server.handle),
                         daemon=True).start()
        listeners.append((listener, server))
        return server

    yield start
    for listener, server in listeners:
        server.stop.set()
        listener.close()


def test_calls_reuse_one_connection(serve: Callable[..., Server]) -> None:
    server = serve(lambda conn, head: conn.sendall(ok()) is None)
    with LedgerHttp(10, TLS) as http:
        for _ in range(20):
            answer = http.post_json(server.url, {"method": "getHealth"})
            assert answer.status == 200 and answer.json()["result"]["status"] == "PENDING"
    assert server.accepted == 1
    first = server.requests[0]
    assert first.startswith(b"POST /rpc HTTP/1.1\r\n")
    assert b"Content-Type: application/json" in first and first.endswith(b'{"method":"getHealth"}')


def test_a_dripping_answer_ends_at_the_overall_deadline(serve: Callable[..., Server]) -> None:
    """Each byte comes well within any per-read timeout; only the call's deadline ends it."""

    def drip(conn: socket.socket, head: bytes) -> bool:
        whole = ok(b"x" * 1000)
        for i in range(len(whole)):  # a byte every 50 ms: the whole answer would take 65 s
            if server.stop.wait(0.05):
                return False
            conn.sendall(whole[i:i + 1])
        return True

    server = serve(drip)
    with LedgerHttp(1.0, TLS) as http:
        started = time.monotonic()
        with pytest.raises(Timeout):
            http.get(server.url)
        took = time.monotonic() - started
    assert took < 30, took  # the answer would have taken 65 s: not the per-read timeout


def test_calls_in_flight_are_capped_and_the_rest_wait_their_turn(
        serve: Callable[..., Server]) -> None:
    release = threading.Event()

    def held(conn: socket.socket, head: bytes) -> bool:
        release.wait(30)
        conn.sendall(ok())
        return True

    server = serve(held)
    with LedgerHttp(60, TLS, max_connections=3) as http, ThreadPoolExecutor(8) as pool:
        calls = [pool.submit(http.get, server.url) for _ in range(8)]
        deadline = time.monotonic() + 30
        while len(server.requests) < 3:
            assert time.monotonic() < deadline, "three calls never reached the server"
            time.sleep(0.01)
        time.sleep(0.3)  # room for a fourth to get through, were the cap not held
        assert len(server.requests) == 3 and server.most_open == 3
        release.set()
        assert [c.result(timeout=60).status for c in calls] == [200] * 8
    assert server.most_open <= 3


def test_a_connection_the_server_closed_while_idle_is_not_used(
        serve: Callable[..., Server]) -> None:
    # Answers, then closes without saying so (as a server's keep-alive timeout does).
    server = serve(lambda conn, head: conn.sendall(ok()) and False)
    with LedgerHttp(10, TLS) as http:
        for _ in range(3):
            assert http.get(server.url).status == 200
            time.sleep(0.2)  # the close reaches the client before the next call
    assert server.accepted == 3


def test_an_answer_that_closes_the_connection_is_read_whole(serve: Callable[..., Server]) -> None:
    body = b'{"result":{"status":"DUPLICATE"}}' * 300
    server = serve(lambda conn, head: conn.sendall(ok(body, "Connection: close\r\n")) and False)
    with LedgerHttp(10, TLS) as http:
        for _ in range(3):
            answer = http.get(server.url)
            assert answer.body == body
    assert server.accepted == 3


def test_an_oversized_answer_is_refused(serve: Callable[..., Server],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_http, "MAX_ANSWER", 100)
    server = serve(lambda conn, head: conn.sendall(ok(b"y" * 500)) is None)
    with LedgerHttp(10, TLS) as http, pytest.raises(TransportError, match="too large"):
        http.get(server.url)


def test_refused_connections_and_garbage_are_transport_errors(serve: Callable[..., Server]) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    garbage = serve(lambda conn, head: conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n") and False)
    with LedgerHttp(10, TLS) as http:
        with pytest.raises(TransportError) as refused:
            http.get(f"http://127.0.0.1:{port}/")
        assert refused.value.kind == "ConnectionRefusedError"
        with pytest.raises(TransportError) as bad:
            http.get(garbage.url)
        assert not isinstance(bad.value, Timeout)
        with pytest.raises(TransportError, match="not an http"):
            http.get("ftp://127.0.0.1/")


def test_rpc_and_horizon_map_failures_as_before(serve: Callable[..., Server]) -> None:
    """Unreachable: UpstreamUnavailable (503 with Retry-After for requests); a send that ran out
    of time is an ambiguous outcome marked as timed out (the worker looks the hash up)."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    silent = serve(lambda conn, head: server_stop.wait(30) and False)
    server_stop = silent.stop
    with LedgerHttp(0.5, TLS) as http:
        rpc = RpcClient(f"http://127.0.0.1:{port}/rpc", http)
        with pytest.raises(UpstreamUnavailable, match="Stellar RPC unreachable: ConnectionRefused"):
            rpc.get_accounts(["GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ"])
        sent = RpcClient(silent.url, http).send_transaction("AAAA")
        assert sent.kind is Sent.UNKNOWN and sent.timed_out
        horizon = HorizonClient(silent.url, http)
        assert horizon.send_transaction("AAAA").timed_out
        with pytest.raises(UpstreamUnavailable, match="Horizon unreachable: Timeout"):
            horizon.get_account("GA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJVSGZ")
