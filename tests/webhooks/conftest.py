"""A fence that keeps every test connection on loopback (the receivers are tests/receivers.py)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

import httpcore
import pytest


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
