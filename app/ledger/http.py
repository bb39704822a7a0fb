"""The HTTP client of the Stellar RPC and Horizon calls: the standard library's ``http.client`` over
a small keep-alive pool.

Why not httpx here: the worker makes two to three of these calls per record submitted, and httpx
spent about 0.7 ms of CPU building and parsing each one (its request, URL and header models, h11's
state machine) against about 0.15 ms for ``http.client`` on the same loopback call; that time was
taken from the event loop through the GIL. The endpoints are the operator's own configuration, so
none of httpx's general-purpose features are needed: no redirects, no cookies, no proxies from the
environment, no compression.

Every call keeps the guarantees of the client it replaces, and adds an overall deadline:

- one deadline (``timeout`` seconds) for the whole call: the wait for a free connection, connect,
  TLS handshake, the request's write and every read of the answer each get only what is left of
  it, so an endpoint that answers one byte a second cannot hold a worker thread;
- at most ``max_connections`` calls in flight per process (a thread waits for a slot within its
  deadline); up to ``max_idle`` connections per endpoint are kept for reuse for ``idle_expiry``
  seconds, and one the server closed meanwhile is dropped before it is used;
- TLS through the process's one client context (``app/tls.py``), with hostname checks;
- failures are ``TransportError`` (``Timeout`` when the deadline passed), which the RPC and
  Horizon clients map to the same errors as before.

Callbacks and subscription events do not use this client: they go to addresses users chose and
need the connect-time SSRF guard of ``app/webhooks/guard.py``.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import select
import socket
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

MAX_ANSWER = 32 * 1024 * 1024  # bytes; a Horizon page or 200 ledger entries are far below it
_USER_AGENT = "refractor"


class TransportError(Exception):
    """No HTTP answer: no connection, a broken one, or something that was not HTTP.

    ``kind`` names what failed (``ConnectionRefusedError``, ``Timeout``...) without the details,
    for messages that reach API clients."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind or type(self).__name__


class Timeout(TransportError):
    """The call's overall deadline passed before its answer was read."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.body)


class _Bounded:
    """The socket of a connection, each operation limited to what is left of the call's deadline.

    ``http.client`` sets one timeout per socket; a read loop would start it again for each byte."""

    def __init__(self, sock: socket.socket, owner: _Deadline) -> None:
        self.sock = sock
        self._owner = owner
        # As a real socket does, stay open while an answer's file still reads from it
        # (http.client closes the connection before the body of a "Connection: close" answer).
        self._files = 0
        self._closed = False

    def _left(self) -> float:
        left = self._owner.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the call's deadline passed")
        return left

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self._left())
        self.sock.sendall(data)  # a timeout bounds the whole sendall, not each chunk

    def recv_into(self, buffer: memoryview) -> int:
        self.sock.settimeout(self._left())
        return self.sock.recv_into(buffer)

    def makefile(self, mode: str) -> io.BufferedReader:
        assert mode == "rb"  # http.client only reads its answers through a file
        self._files += 1
        return io.BufferedReader(_Reader(self))

    def file_closed(self) -> None:
        self._files -= 1
        if self._closed and self._files <= 0:
            self.sock.close()

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self._closed = True
        if self._files <= 0:
            self.sock.close()

    def abort(self) -> None:
        self._closed = True
        self.sock.close()


class _Reader(io.RawIOBase):
    def __init__(self, sock: _Bounded) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._sock.file_closed()
        super().close()


class _Deadline:
    deadline = 0.0


class _Plain(http.client.HTTPConnection, _Deadline):
    def connect(self) -> None:
        super().connect()
        self.sock = _Bounded(self.sock, self)  # duck-typed: each operation bounded


class _Tls(http.client.HTTPSConnection, _Deadline):
    def connect(self) -> None:
        super().connect()  # CPython bounds the whole handshake by the socket's timeout
        self.sock = _Bounded(self.sock, self)  # duck-typed: each operation bounded


_Connection = _Plain | _Tls
_Origin = tuple[str, str, int]


class LedgerHttp:
    def __init__(self, timeout: float, tls: ssl.SSLContext, *, connect_timeout: float | None = None,
                 max_connections: int = 100, max_idle: int = 20, idle_expiry: float = 5.0) -> None:
        self.timeout = timeout
        self._connect_timeout = min(5.0, timeout) if connect_timeout is None else connect_timeout
        self._tls = tls
        self._slots = threading.BoundedSemaphore(max_connections)
        self._max_idle = max_idle
        self._idle_expiry = idle_expiry
        self._idle: dict[_Origin, deque[tuple[float, _Connection]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self, url: str) -> Response:
        return self.request("GET", url)

    def post_json(self, url: str, payload: Any) -> Response:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return self.request("POST", url, body, "application/json")

    def post_form(self, url: str, fields: dict[str, str]) -> Response:
        return self.request("POST", url, urlencode(fields).encode(),
                            "application/x-www-form-urlencoded")

    def request(self, method: str, url: str, body: bytes | None = None,
                content_type: str | None = None) -> Response:
        deadline = time.monotonic() + self.timeout
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"not an http(s) URL: {parts.scheme}://{parts.hostname or ''}")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise TransportError(f"invalid port in URL: {exc}") from exc
        origin = (scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        if not self._slots.acquire(timeout=self.timeout):
            raise Timeout(f"no free connection within {self.timeout:g} s "
                          "(too many calls in flight)")
        try:
            conn = self._reuse(origin) or self._open(origin)
            conn.deadline = deadline
            try:
                response = self._exchange(conn, method, target, body, headers)
            except BaseException:
                _abort(conn)
                raise
            self._keep(origin, conn)
            return response
        finally:
            self._slots.release()

    def _exchange(self, conn: _Connection, method: str, target: str, body: bytes | None,
                  headers: dict[str, str]) -> Response:
        try:
            if conn.sock is None:
                left = conn.deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the call's deadline passed")
                conn.timeout = min(self._connect_timeout, left)
                conn.connect()
            conn.request(method, target, body, headers)
            answer = conn.getresponse()
            if answer.length is not None and answer.length > MAX_ANSWER:
                raise TransportError(f"answer too large ({answer.length} bytes)")
            data = answer.read(MAX_ANSWER + 1)
            if len(data) > MAX_ANSWER:
                raise TransportError(f"answer larger than {MAX_ANSWER} bytes")
            if not answer.isclosed():  # the size cap cut it short: the connection is unusable
                raise TransportError(f"answer larger than {MAX_ANSWER} bytes")
            return Response(answer.status, data)
        except TransportError:
            raise
        except TimeoutError as exc:  # socket.timeout is TimeoutError
            raise Timeout(f"no answer within {self.timeout:g} s") from exc
        except ssl.SSLError as exc:
            raise TransportError(f"TLS: {exc}", type(exc).__name__) from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}", type(exc).__name__) from exc

    def _open(self, origin: _Origin) -> _Connection:
        scheme, host, port = origin
        conn: _Connection = (_Tls(host, port, context=self._tls) if scheme == "https"
                             else _Plain(host, port))
        return conn  # connected in _exchange, where its errors are mapped

    def _reuse(self, origin: _Origin) -> _Connection | None:
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                if not idle:
                    return None
                since, conn = idle.pop()  # the most recently used: the least likely to be stale
            if now - since < self._idle_expiry and _usable(conn):
                return conn
            conn.close()

    def _keep(self, origin: _Origin, conn: _Connection) -> None:
        if conn.sock is None:  # the server said it closes the connection
            return
        with self._lock:
            if not self._closed:
                idle = self._idle.setdefault(origin, deque())
                if len(idle) < self._max_idle:
                    idle.append((time.monotonic(), conn))
                    return
        conn.close()

    def __enter__(self) -> LedgerHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for _since, conn in connections:
                conn.close()


def _abort(conn: _Connection) -> None:
    """Close a connection whose call failed, even if an answer's file still refers to it."""
    sock = conn.sock
    conn.close()
    if isinstance(sock, _Bounded):
        sock.abort()


def _usable(conn: _Connection) -> bool:
    """An idle connection is usable when nothing is waiting to be read on it: a server that closed
    it (or sent something unasked) makes it readable."""
    sock = conn.sock
    if sock is None:
        return False
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return not poller.poll(0)
