"""The private-address policy, and that it holds at connect time against real loopback servers."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.webhooks.delivery import WebhookSender
from app.webhooks.guard import GuardedTransport, is_blocked, resolve
from tests.receivers import Receiver

BLOCKED = [
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.1.2.3",
    "169.254.169.254",  # cloud metadata
    "169.254.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.1",
    "192.0.2.1",
    "192.168.0.1",
    "192.168.255.255",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",  # IPv4-compatible
    "::ffff:0:7f00:1",  # IPv4-translated
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::808:808",  # local-use NAT64
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:db8::1",
    "100::1",
    "fc00::1",
    "fd00::1",
    "fd12:3456:789a::1",
    "fe80::1",
    "fe80::1%1",
    "fec0::1",
    "ff02::1",
    "ff05::2",
    "3fff::1",
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "9.9.9.9",
    "93.184.215.14",
    "100.63.255.255",  # just below the CGNAT range
    "100.128.0.0",  # just above it
    "172.15.255.255",
    "172.32.0.0",
    "192.169.0.1",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "2a00:1450:4001:81c::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8 (DNS64 on IPv6-only hosts)
    "2002:808:808::1",  # 6to4 of 8.8.8.8
]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address: str) -> None:
    assert is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert not is_blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("option", ["proxy", "uds"])
def test_options_that_bypass_the_check_are_refused(option: str) -> None:
    with pytest.raises(ValueError, match=option):
        GuardedTransport(allow_private=False, **{option: "http://127.0.0.1:9/"})


def _no_connection_reached(receiver: Receiver) -> None:
    # The server accepts connections in order, so once a later probe is served, any earlier
    # connection would already have been counted.
    with WebhookSender(secret=None, allow_private=True, timeout=30) as probe:
        assert probe.send(receiver.address("/probe"), "probe", {}).ok
    assert receiver.connections == 1
    assert [hit.path for hit in receiver.hits] == ["/probe"]


def test_loopback_receiver_is_refused_and_never_contacted(
    receiver: Receiver, connect_attempts: list[str]
) -> None:
    with WebhookSender(secret=None, allow_private=False, timeout=30) as sender:
        result = sender.send(receiver.url, "m1", {"a": 1})
    assert not result.ok
    assert result.permanent
    assert result.status is None
    assert result.error == "callback address 127.0.0.1 is not allowed (private network)"
    assert connect_attempts == []
    _no_connection_reached(receiver)


def test_loopback_receiver_is_reached_when_private_targets_are_allowed(receiver: Receiver) -> None:
    with WebhookSender(secret=None, allow_private=True, timeout=30) as sender:
        result = sender.send(receiver.url, "m1", {"a": 1})
    assert result.ok
    assert [hit.path for hit in receiver.hits] == ["/hook"]


def test_a_hostname_resolving_to_loopback_is_refused_at_connect_time(
    receiver: Receiver, connect_attempts: list[str]
) -> None:
    with WebhookSender(secret=None, allow_private=False, timeout=30) as sender:
        result = sender.send(receiver.address(host="localhost"), "m1", {})
    assert result.permanent
    assert result.error is not None
    assert "127.0.0.1" in result.error
    assert connect_attempts == []
    _no_connection_reached(receiver)


@pytest.mark.parametrize("host", ["::1", "::ffff:127.0.0.1"])
def test_ipv6_loopback_forms_are_refused(host: str, connect_attempts: list[str]) -> None:
    with WebhookSender(secret=None, allow_private=False, timeout=30) as sender:
        result = sender.send(f"http://[{host}]:9/hook", "m1", {})
    assert result.permanent
    assert result.error is not None
    assert "is not allowed (private network)" in result.error
    assert connect_attempts == []


def test_ipv6_loopback_receiver_is_refused_then_allowed(
    ipv6_loopback: str, receiver_factory: Callable[..., Receiver]
) -> None:
    receiver = receiver_factory(ipv6_loopback)
    with WebhookSender(secret=None, allow_private=False, timeout=30) as sender:
        assert sender.send(receiver.url, "m1", {}).permanent
    assert receiver.connections == 0
    with WebhookSender(secret=None, allow_private=True, timeout=30) as sender:
        assert sender.send(receiver.url, "m1", {}).ok
    assert receiver.connections == 1


class FakeDns:
    """Answers for invented names; everything else goes to the real resolver."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host in self.answers:
            queue = self.answers[host]
            ips = queue.pop(0) if len(queue) > 1 else queue[0]
            return [info for ip in ips for info in self._real(ip, port, *args, **kwargs)]
        return self._real(host, port, *args, **kwargs)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    return FakeDns(monkeypatch)


def test_dns_rebinding_after_a_public_answer_is_still_refused(
    dns: FakeDns, receiver: Receiver, connect_attempts: list[str]
) -> None:
    # The first lookup (say, when the URL was accepted) is public; the one at delivery is not.
    dns.answers["rebind.test"] = [["8.8.8.8"], ["127.0.0.1"]]
    assert not any(is_blocked(ip) for _family, ip in resolve("rebind.test", receiver.port))
    with WebhookSender(secret=None, allow_private=False, timeout=30) as sender:
        result = sender.send(receiver.address(host="rebind.test"), "m1", {})
    assert result.permanent
    assert result.error == "callback address 127.0.0.1 is not allowed (private network)"
    assert connect_attempts == []
    _no_connection_reached(receiver)


def test_a_name_with_any_private_answer_is_refused_before_connecting(
    dns: FakeDns, receiver: Receiver, connect_attempts: list[str]
) -> None:
    dns.answers["mixed.test"] = [["8.8.8.8", "127.0.0.1"]]
    with WebhookSender(secret=None, allow_private=False, timeout=30) as sender:
        result = sender.send(receiver.address(host="mixed.test"), "m1", {})
    assert result.permanent
    assert connect_attempts == []


def test_connects_to_the_checked_address_and_keeps_the_hostname_in_host(
    dns: FakeDns, receiver: Receiver
) -> None:
    dns.answers["receiver.test"] = [["127.0.0.1"]]
    with WebhookSender(secret=None, allow_private=True, timeout=30) as sender:
        assert sender.send(receiver.address(host="receiver.test"), "m1", {}).ok
    assert receiver.hits[0].headers["host"] == f"receiver.test:{receiver.port}"


def test_an_unresolvable_name_is_a_transient_failure(dns: FakeDns) -> None:
    with WebhookSender(secret=None, allow_private=False, timeout=30) as sender:
        result = sender.send("http://no-such-host.invalid/hook", "m1", {})
    assert not result.ok
    assert not result.permanent
    assert result.error is not None
    assert "cannot resolve" in result.error


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def test_tls_uses_the_hostname_for_sni_and_certificate_checks(
    dns: FakeDns, receiver_factory: Callable[..., Receiver], tmp_path: Path
) -> None:
    cert, key = _self_signed(tmp_path, "receiver.test")
    server_names: list[str | None] = []
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.sni_callback = lambda _sock, name, _ctx: server_names.append(name)
    receiver = receiver_factory(tls=server_ctx)
    dns.answers["receiver.test"] = [["127.0.0.1"]]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    transport = GuardedTransport(allow_private=True, verify=client_ctx)
    with WebhookSender(secret=None, allow_private=True, timeout=30, transport=transport) as sender:
        result = sender.send(receiver.address(scheme="https", host="receiver.test"), "m1", {})
    assert result.ok, result.error
    assert server_names == ["receiver.test"]
    assert receiver.hits[0].headers["host"] == f"receiver.test:{receiver.port}"
