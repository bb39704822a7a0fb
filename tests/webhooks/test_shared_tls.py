"""One TLS client context per process: the CA bundle is loaded once when the app is assembled,
and every outbound client (Stellar RPC/Horizon, callbacks and events) verifies with that context."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.jobs.kinds import DELIVER_CALLBACK
from app.services import Services, build_services
from app.worker.build import build_worker
from app.worker.callbacks import CallbackQueue
from tests.app_server import app_settings
from tests.receivers import Receiver


def _certificate_for_loopback(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "refractor test receiver")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def counted_bundle_loads(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every CA bundle a TLS context loads from now on (the costly part of building one)."""
    loads: list[Any] = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args or kwargs)
        real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    return loads


@pytest.fixture
def assembled(tmp_path: Path) -> Iterator[tuple[Services, CallbackQueue]]:
    settings = app_settings("http://127.0.0.1:9/", None, str(tmp_path / "tls.db"))
    services = build_services(settings)
    runner = build_worker(services)  # built, never started: no thread runs
    queue = runner.registry.get(DELIVER_CALLBACK).handler
    assert isinstance(queue, CallbackQueue)
    yield services, queue
    queue.sender.close()
    services.close()


def test_the_ca_bundle_is_loaded_once_per_process(counted_bundle_loads: list[Any],
                                                  tmp_path: Path) -> None:
    settings = app_settings("http://127.0.0.1:9/", None, str(tmp_path / "once.db"))
    services = build_services(settings)
    runner = build_worker(services)
    try:
        assert len(counted_bundle_loads) == 1
    finally:
        handler = runner.registry.get(DELIVER_CALLBACK).handler
        assert isinstance(handler, CallbackQueue)
        handler.sender.close()
        services.close()


def test_every_outbound_client_verifies_with_the_shared_context(
        assembled: tuple[Services, CallbackQueue], tmp_path: Path,
        receiver_factory: Callable[..., Receiver]) -> None:
    services, callbacks = assembled
    cert, key = _certificate_for_loopback(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    receiver = receiver_factory(tls=server)
    url = receiver.address(scheme="https")

    # Not trusted yet: both clients refuse the receiver's certificate.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        services.http.get(url)
    refused = callbacks.sender.send(url, "m0", {})
    assert not refused.ok and refused.error is not None and "CERTIFICATE_VERIFY" in refused.error

    # Trusting it in the one shared context is enough for every client of the process.
    services.tls.load_verify_locations(cert)
    assert services.http.get(url).status_code == 200
    sent = callbacks.sender.send(url, "m1", {"ok": True})
    assert sent.ok, sent.error
    assert [hit.method for hit in receiver.hits] == ["GET", "POST"]
