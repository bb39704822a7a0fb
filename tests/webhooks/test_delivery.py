"""WebhookSender against real loopback receivers: what arrives, and how each outcome is classified."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from app.webhooks.delivery import WebhookSender
from app.webhooks.signing import verify
from tests.receivers import Answer, Receiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PAYLOAD = {"hash": "c0ffee" * 10, "network": "testnet", "status": "processed"}


@pytest.fixture
def sender() -> Iterator[WebhookSender]:
    # allow_private: the receivers live on loopback; test_guard covers the refusal side. The
    # deadline is for a loaded machine: the tests that time out set their own.
    with WebhookSender(secret=SECRET, allow_private=True, timeout=30) as s:
        yield s


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_a_success(status: int, sender: WebhookSender, receiver: Receiver) -> None:
    receiver.answer(Answer(status))
    result = sender.send(receiver.url, "delivery-1", PAYLOAD)
    assert result.ok
    assert not result.permanent
    assert result.status == status
    assert result.error is None
    assert result.duration_ms > 0


def test_the_receiver_gets_signed_compact_json(sender: WebhookSender, receiver: Receiver) -> None:
    now = time.time()
    assert sender.send(receiver.url, "delivery-1", PAYLOAD, now=now).ok
    (hit,) = receiver.hits
    assert hit.method == "POST"
    assert hit.path == "/hook"
    assert json.loads(hit.body) == PAYLOAD
    assert b" " not in hit.body
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["user-agent"] == "Refractor-Webhooks"
    assert hit.headers["webhook-id"] == "delivery-1"
    assert hit.headers["webhook-timestamp"] == str(int(now))
    assert hit.headers["webhook-signature"].startswith("v1,")
    assert verify(SECRET, hit.headers, hit.body)
    assert not verify(SECRET, hit.headers, hit.body + b" ")


def test_without_a_secret_there_is_no_signature_header(receiver: Receiver) -> None:
    with WebhookSender(secret=None, allow_private=True, timeout=30) as sender:
        assert sender.send(receiver.url, "delivery-1", PAYLOAD).ok
    (hit,) = receiver.hits
    assert "webhook-signature" not in hit.headers
    assert hit.headers["webhook-id"] == "delivery-1"


def test_a_bad_secret_fails_at_construction() -> None:
    with pytest.raises(ValueError):
        WebhookSender(secret="whsec_***", allow_private=False, timeout=5)


def test_a_5xx_is_transient_and_the_retry_can_succeed(sender: WebhookSender, receiver: Receiver) -> None:
    receiver.answer(Answer(500), Answer(200))
    first = sender.send(receiver.url, "delivery-1", PAYLOAD, now=1_700_000_000)
    second = sender.send(receiver.url, "delivery-1", PAYLOAD, now=1_700_000_030)
    assert (first.ok, first.permanent, first.status) == (False, False, 500)
    assert first.error == "receiver answered HTTP 500"
    assert (second.ok, second.status) == (True, 200)
    # Same id for de-duplication, fresh timestamp and signature on each attempt.
    ids = [hit.headers["webhook-id"] for hit in receiver.hits]
    stamps = [hit.headers["webhook-timestamp"] for hit in receiver.hits]
    assert ids == ["delivery-1", "delivery-1"]
    assert stamps == ["1700000000", "1700000030"]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses(status: int, sender: WebhookSender, receiver: Receiver) -> None:
    receiver.answer(Answer(status))
    result = sender.send(receiver.url, "delivery-1", PAYLOAD)
    assert (result.ok, result.permanent, result.status) == (False, False, status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 410, 413, 422])
def test_other_4xx_are_permanent(status: int, sender: WebhookSender, receiver: Receiver) -> None:
    receiver.answer(Answer(status))
    result = sender.send(receiver.url, "delivery-1", PAYLOAD)
    assert (result.ok, result.permanent, result.status) == (False, True, status)
    assert result.error == f"receiver answered HTTP {status}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_permanent_and_not_followed(
    status: int, sender: WebhookSender, receiver_factory: Callable[..., Receiver]
) -> None:
    origin, target = receiver_factory(), receiver_factory()
    origin.answer(Answer(status, {"Location": target.address("/elsewhere")}))
    result = sender.send(origin.url, "delivery-1", PAYLOAD)
    assert (result.ok, result.permanent, result.status) == (False, True, status)
    assert result.error == f"redirects are not followed: {status} to {target.address('/elsewhere')}"
    assert target.connections == 0
    assert target.hits == []


def test_a_slow_receiver_times_out_as_transient(receiver: Receiver) -> None:
    receiver.answer(Answer(200, delay=60))  # released at teardown
    with WebhookSender(secret=SECRET, allow_private=True, timeout=0.5) as sender:
        started = time.monotonic()
        result = sender.send(receiver.url, "delivery-1", PAYLOAD)
        elapsed = time.monotonic() - started
    assert (result.ok, result.permanent, result.status) == (False, False, None)
    assert result.error == "timed out after 0.5s (ReadTimeout)"
    # At the 0.5 s deadline, not at the answer a minute later; the upper margin is for a loaded
    # machine (a thread woken late), still far from both the answer and the fixture's 30 s.
    assert 0.4 < elapsed < 5
    assert 400 < result.duration_ms < 5000


def test_the_response_body_is_never_read(sender: WebhookSender, receiver: Receiver) -> None:
    # The receiver promises 100 MB and then stalls (30 s): reading it would hang until the
    # sender's 30 s deadline. The bound leaves a loaded machine room and still tells the two apart.
    receiver.answer(Answer(200, promised_length=100_000_000))
    started = time.monotonic()
    result = sender.send(receiver.url, "delivery-1", PAYLOAD)
    assert result.ok
    assert time.monotonic() - started < 15


def test_a_refused_connection_is_transient(sender: WebhookSender) -> None:
    # Bound but not listening: connections are refused, and no other process (another test
    # worker's server) can take the port meanwhile, as it could once the socket was closed.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        result = sender.send(f"http://127.0.0.1:{port}/hook", "delivery-1", PAYLOAD)
    assert (result.ok, result.permanent, result.status) == (False, False, None)
    assert result.error is not None
    assert result.error.startswith("ConnectError")


def test_a_receiver_that_hangs_up_is_transient(sender: WebhookSender) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(30)

        def hang_up() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)

        thread = threading.Thread(target=hang_up)
        thread.start()
        result = sender.send(f"http://127.0.0.1:{server.getsockname()[1]}/hook", "delivery-1", PAYLOAD)
        thread.join()
    assert (result.ok, result.permanent, result.status) == (False, False, None)
    assert result.error is not None
    assert result.error.startswith("RemoteProtocolError")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/hook",
        "/relative/hook",
        "http:///hook",
        "not a url",
        "http://exa mple.com/",
        "http://exa\tmple.com/",
        "http://user@/hook",
        "https://[::1/hook",
        # The original's validation bypass: a newline smuggling a second URL past a regex.
        "http://127.0.0.1:{port}/internal?\nhttps://example.com",
    ],
)
def test_invalid_urls_are_permanent(url: str, sender: WebhookSender, receiver: Receiver) -> None:
    result = sender.send(url.format(port=receiver.port), "delivery-1", PAYLOAD)
    assert (result.ok, result.permanent, result.status) == (False, True, None)
    assert result.error is not None
    assert result.error.startswith("invalid callback URL")
    assert receiver.hits == []


def test_a_payload_that_is_not_json_is_permanent(sender: WebhookSender, receiver: Receiver) -> None:
    for payload in ({"when": object()}, {"x": float("nan")}):
        result = sender.send(receiver.url, "delivery-1", payload)
        assert (result.ok, result.permanent) == (False, True)
        assert result.error is not None
        assert result.error.startswith("payload is not JSON")
    assert receiver.hits == []


def test_the_sender_is_reusable_across_receivers(
    sender: WebhookSender, receiver_factory: Callable[..., Receiver]
) -> None:
    receivers = [receiver_factory() for _ in range(3)]
    for index, receiver in enumerate(receivers * 2):
        assert sender.send(receiver.url, f"delivery-{index}", PAYLOAD).ok
    assert [len(r.hits) for r in receivers] == [2, 2, 2]
