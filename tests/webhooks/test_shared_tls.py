"""One TLS client context per process: the CA bundle is loaded once when the app is assembled,
and every outbound client (Stellar RPC/Horizon, callbacks and events, Sentry) verifies with that
context."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sentry_sdk

from app.config import parse_settings
from app.jobs.kinds import DELIVER_CALLBACK
from app.ledger.http import TransportError
from app.observability import setup_sentry
from app.services import Services, build_services
from app.tls import client_context
from app.worker.build import build_worker
from app.worker.callbacks import CallbackQueue
from tests.app_server import app_settings
from tests.receivers import Receiver
from tests.sentry_sink import sentry_sink


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
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        services.http.get(url)
    refused = callbacks.sender.send(url, "m0", {})
    assert not refused.ok and refused.error is not None and "CERTIFICATE_VERIFY" in refused.error

    # Trusting it in the one shared context is enough for every client of the process.
    services.tls.load_verify_locations(cert)
    assert services.http.get(url).status == 200
    sent = callbacks.sender.send(url, "m1", {"ok": True})
    assert sent.ok, sent.error
    assert [hit.method for hit in receiver.hits] == ["GET", "POST"]


@pytest.fixture
def https_sentry(tmp_path: Path) -> Iterator[tuple[str, list[bytes], Path]]:
    """A loopback Sentry sink over HTTPS with a certificate no default bundle trusts: (DSN,
    bodies received, the certificate)."""
    cert, key = _certificate_for_loopback(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    with sentry_sink(tls=server) as (dsn, received):
        yield dsn, received, cert


def _delivered(received: list[bytes], message: str) -> bool:
    sentry_sdk.capture_message(message)
    sentry_sdk.flush(60)
    return any(message.encode() in body for body in received)


def test_sentry_verifies_with_the_shared_context(
        https_sentry: tuple[str, list[bytes], Path]) -> None:
    dsn, received, cert = https_sentry
    tls = client_context()
    assert setup_sentry(parse_settings({"sentry": {"dsn": dsn}}, {}), tls)
    try:
        assert not _delivered(received, "before the CA is trusted")
        tls.load_verify_locations(cert)  # trusted in the process's one context: Sentry too
        assert _delivered(received, "after the CA is trusted")
    finally:
        sentry_sdk.get_client().close()


def test_sentry_trusts_what_the_app_trusts(https_sentry: tuple[str, list[bytes], Path],
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A private CA in ``SSL_CERT_DIR`` (which the app's clients honour and Sentry's own
    transport ignores) is trusted by Sentry's transport as by every other client."""
    dsn, received, cert = https_sentry
    cadir = tmp_path / "ca"
    cadir.mkdir()
    digest = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in", str(cert)],
                            check=True, capture_output=True, text=True).stdout.strip()
    (cadir / f"{digest}.0").write_bytes(cert.read_bytes())
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(cadir))
    with httpx.Client(verify=client_context()) as app_client:  # the app's configuration
        assert app_client.post(dsn.replace("public@", "") + "/probe").status_code == 200
    received.clear()
    assert setup_sentry(parse_settings({"sentry": {"dsn": dsn}}, {}))
    try:
        assert _delivered(received, "sent with the app's CA configuration")
    finally:
        sentry_sdk.get_client().close()
