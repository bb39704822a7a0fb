"""Refuse callbacks to private, loopback and other non-public addresses, checked at connect time.

Checking the URL's hostname before sending is not enough: DNS can answer differently a moment
later (rebinding), and the original Refractor was open to exactly that SSRF. So the network
backend used by httpx resolves the name itself, checks every address, and connects to the checked
address; TLS SNI and the Host header still carry the hostname.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Written out instead of trusting ``is_global`` alone: the stdlib tables changed between patch
# releases, and a security policy should not move with the interpreter.
_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    )
)  # fmt: skip
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96", "::ffff:0:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
        "3fff::/20", "5f00::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class BlockedAddress(Exception):
    """The callback host resolved to an address outside the public internet."""

    def __init__(self, ip: IPAddress, host: str) -> None:
        super().__init__(f"callback address {ip} is not allowed (private network)")
        self.ip = ip
        self.host = host


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    # These forms carry an IPv4 destination that a relay or translator would actually reach.
    found: list[ipaddress.IPv4Address] = []
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def is_blocked(ip: IPAddress) -> bool:
    """True for any address a callback must not reach unless private targets are allowed."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            # A dual-stack socket sends this to the IPv4 address, so judge that address.
            return is_blocked(ip.ipv4_mapped)
        if ip in _NAT64:
            # DNS64 on an IPv6-only host synthesises these for every IPv4-only receiver.
            return is_blocked(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if any(is_blocked(v4) for v4 in _embedded_v4(ip)):
            return True
        if any(ip in net for net in _BLOCKED_V6):
            return True
    elif any(ip in net for net in _BLOCKED_V4):
        return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_link_local


def resolve(host: str, port: int) -> list[tuple[socket.AddressFamily, IPAddress]]:
    """Every TCP address ``host`` resolves to, in the resolver's preferred order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[tuple[socket.AddressFamily, IPAddress]] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        # Drop any IPv6 zone: it is a local interface name, not part of the address policy.
        entry = (family, ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        if entry not in seen:
            seen.append(entry)
    return seen


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by one overall deadline.

    httpx's timeouts bound each socket operation, so a receiver sending one byte per second
    would hold the attempt forever; here each operation gets only what is left of the attempt.
    """

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the attempt's deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname,
                                      self._left(timeout, httpcore.ConnectTimeout))
        return DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """A sync httpcore backend that connects only to addresses that passed ``is_blocked``.

    Inside ``deadline(seconds)`` (one per attempt, per thread) the lookup, connect, TLS and every
    read and write end by that deadline; the lookup also has its own ``dns_timeout``.
    """

    def __init__(self, allow_private: bool, dns_timeout: float = 5.0,
                 dns_threads: int = 8) -> None:
        self.allow_private = allow_private
        self.dns_timeout = dns_timeout
        self._inner = httpcore.SyncBackend()
        self._local = threading.local()
        # getaddrinfo cannot be interrupted: it runs on a few threads of its own, so a resolver
        # that never answers costs at most those threads, not the caller's deadline.
        self._dns = ThreadPoolExecutor(max_workers=dns_threads, thread_name_prefix="refractor-dns")

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        self._local.deadline = time.monotonic() + seconds
        try:
            yield
        finally:
            self._local.deadline = None

    def _current_deadline(self) -> float | None:
        value: float | None = getattr(self._local, "deadline", None)
        return value

    def _resolve(self, host: str, port: int,
                 deadline: float | None) -> list[tuple[socket.AddressFamily, IPAddress]]:
        wait = self.dns_timeout
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
        if wait <= 0:
            raise httpcore.ConnectTimeout(f"no time left to resolve {host}")
        future = self._dns.submit(resolve, host, port)
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            future.cancel()
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None

    def close(self) -> None:
        self._dns.shutdown(wait=False, cancel_futures=True)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        attempt_deadline = self._current_deadline()
        try:
            addresses = self._resolve(host, port, attempt_deadline)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not self.allow_private:
            # Refuse the whole name if any answer is private, before connecting anywhere:
            # a mixed answer is a rebinding tell, not something to route around.
            for _family, ip in addresses:
                if is_blocked(ip):
                    raise BlockedAddress(ip, host)
        deadline = None if timeout is None else time.monotonic() + timeout
        if attempt_deadline is not None:
            deadline = attempt_deadline if deadline is None else min(deadline, attempt_deadline)
        last: Exception = httpcore.ConnectError(f"no address for {host}")
        for _family, ip in addresses:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise httpcore.ConnectTimeout(f"connecting to {host} timed out")
            try:
                # An IP literal here means the inner backend does no second lookup.
                stream = self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
                return stream if attempt_deadline is None else DeadlineStream(stream, attempt_deadline)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not callback targets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connections go through ``GuardedBackend``."""

    def __init__(self, allow_private: bool, dns_timeout: float = 5.0, **kwargs: Any) -> None:
        for option in ("proxy", "uds"):
            # Both hand the connection to something that resolves the target on its own.
            if kwargs.get(option) is not None:
                raise ValueError(f"GuardedTransport does not support {option}=")
        super().__init__(**kwargs)
        pool = self._pool
        if not isinstance(pool, httpcore.ConnectionPool):  # pragma: no cover - httpx internals
            raise TypeError("unexpected httpx connection pool type")
        # HTTPTransport has no parameter for the backend, so swap it on the pool it just built.
        self.backend = GuardedBackend(allow_private, dns_timeout)
        pool._network_backend = self.backend
        self.allow_private = allow_private

    def close(self) -> None:
        super().close()
        self.backend.close()
