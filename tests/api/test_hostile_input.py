"""Inputs that used to reach a 500: deep nesting, non-ASCII digits, oversized cursors; and the shape
of a genuine 500 (JSON, no request body in the logs or in Sentry)."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sentry_sdk
from stellar_sdk import Account, Asset, Keypair, TransactionBuilder
from stellar_sdk.xdr import Int64

from app.services import Services, build_services
from app.settings import Settings
from tests import loopback
from tests.api.conftest import Accounts
from tests.api.test_compat import post, seq_of
from tests.api.test_errors import error
from tests.app_server import app_settings, running_app
from tests.builders import PASSPHRASE, payment_tx, signed
from tests.fakenet import FakeStellarNetwork
from tests.sentry_sink import sentry_sink as local_sentry


def _cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("body", [b"[" * 1000, b'{"a":' * 1000, b'{"xdr": ' + b"[" * 40 + b"]" * 40 + b"}"])
def test_deeply_nested_json_is_400(client: httpx.Client, body: bytes) -> None:
    answer = error(client.post("/tx", content=body, headers={"content-type": "application/json"}), 400)
    assert "nested too deeply" in str(answer["error"])


def test_brackets_inside_strings_do_not_count(client: httpx.Client) -> None:
    body = json.dumps({"network": "testnet", "xdr": "[" * 500 + '\\"{' * 100})
    answer = error(client.post("/tx", content=body, headers={"content-type": "application/json"}), 400)
    assert answer.get("field") == "xdr"


@pytest.mark.parametrize("limit", ["²", "１０", "٣", "+5", "-1", " 5", "5 ", "0", "101", "1" * 400,
                                   "5.0", ""])
def test_limit_must_be_ascii_digits_in_range(client: httpx.Client, limit: str) -> None:
    account = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
    answer = error(client.get("/tx", params={"account": account, "limit": limit}), 400)
    assert answer["field"] == "limit"


@pytest.mark.parametrize("cursor", [
    _cursor(b"[1" + b"0" * 400 + b', "' + b"ab" * 32 + b'"]'),  # 400-digit number
    _cursor(b"[" + b"9" * 120 + b', "' + b"ab" * 32 + b'"]'),
    _cursor(b'[NaN, "' + b"ab" * 32 + b'"]'),
    _cursor(b'[1e999, "' + b"ab" * 32 + b'"]'),
    _cursor(b'[-1, "' + b"ab" * 32 + b'"]'),
    _cursor(b'[true, "' + b"ab" * 32 + b'"]'),
    _cursor(b'[1, "not-a-hash"]'),
    _cursor(b'[1, "' + b"ab" * 5000 + b'"]'),
    _cursor(b"[" * 500),
    _cursor(b"[1]"),
    "A" * 5000,
    "%%%",
    "²",
])
def test_cursors_are_validated_and_bounded(client: httpx.Client, cursor: str) -> None:
    account = "GAAZI4TCR3TY5OJHCTJC2A4QSY6CJWJH5IAJTGKIN2ER7LBNVKOCCWN7"
    answer = error(client.get("/tx", params={"account": account, "cursor": cursor}), 400)
    assert answer["field"] == "cursor"


def test_hash_with_a_trailing_newline_is_400(client: httpx.Client) -> None:
    error(client.get("/tx/" + "ab" * 32 + "%0A"), 400)


@pytest.fixture
def sentry_sink() -> Iterator[tuple[str, list[bytes]]]:
    with local_sentry() as sink:
        yield sink


def test_unhandled_error_is_json_500_without_the_body_in_logs_or_sentry(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        sentry_sink: tuple[str, list[bytes]]) -> None:
    from app.observability import setup_sentry

    dsn, received = sentry_sink
    marker = "https://receiver.example/hook?token=SECRET-" + "7" * 12

    def broken(settings: Settings) -> Services:
        services = build_services(settings)

        def explode(body: Any, *rest: Any) -> Any:
            raise RuntimeError("a bug in request handling")

        services.txs.parse = explode  # type: ignore[method-assign]
        return services

    settings = app_settings("http://127.0.0.1:9/rpc", None, str(tmp_path / "e.db"),
                            sentry={"dsn": dsn, "environment": "test"})
    assert setup_sentry(settings)
    try:
        with caplog.at_level(logging.INFO), running_app(settings, broken) as base:
            response = loopback.post(base + "/tx", json={"network": "testnet", "xdr": "AAAA",
                                                      "callbackUrl": marker}, timeout=30)
            assert response.status_code == 500
            assert response.json() == {"error": "Internal server error", "status": 500}
        sentry_sdk.flush(5)
    finally:
        sentry_sdk.get_client().close()
    logged = "\n".join(r.getMessage() + str(r.exc_info) + str(getattr(r, "fields", ""))
                       for r in caplog.records)
    assert "unhandled error" in logged and "a bug in request handling" in logged
    assert "SECRET-" not in logged
    events = [line for body in received for line in body.splitlines() if b'"exception"' in line]
    assert events, "the error did not reach Sentry"
    assert all(b"SECRET-" not in body for body in received)


def test_an_answer_before_the_body_is_read_closes_the_connection(client: httpx.Client) -> None:
    body = b'{"a": "' + b"x" * 60_000 + b'"}'
    for _ in range(5):  # the same client (connection pool) each time
        answer = client.post("/tx/" + "ab" * 32 + "/submit", content=body,
                             headers={"content-type": "application/json"})
        assert answer.status_code == 404 and answer.headers["connection"] == "close"
        assert client.get("/networks").status_code == 200
    read = client.post("/tx", content=b"[1]", headers={"content-type": "application/json"})
    assert read.status_code == 400 and read.headers.get("connection") != "close"


@pytest.mark.parametrize("expires", ["9" * 5000, "٣٣٣", "1e9", " 12345678901234 "])
def test_expires_strings_are_ascii_digits_of_bounded_length(client: httpx.Client, net: FakeStellarNetwork,
                                                            accounts: Accounts, expires: str) -> None:
    s = accounts.make()
    answer = error(post(client, payment_tx(s, seq=seq_of(net, s)).to_xdr(), expires=expires), 400)
    assert answer["field"] == "expires" and len(str(answer["error"])) < 200


@pytest.mark.parametrize("bounds", [(0, 2**64 - 1), (2**63, 0), (2**64 - 2, 2**64 - 1)])
def test_time_bounds_beyond_signed_64_bits_are_stored(client: httpx.Client, net: FakeStellarNetwork,
                                                      accounts: Accounts,
                                                      bounds: tuple[int, int]) -> None:
    """Time bounds are unsigned 64-bit in XDR; neither engine stores integers past 2**63 - 1
    (this was a 500 found by fuzzing). Bounds that far off mean "never" either way."""
    s = accounts.make()
    builder = TransactionBuilder(Account(s.public_key, seq_of(net, s)),
                                 network_passphrase=PASSPHRASE, base_fee=100)
    builder.append_payment_op(Keypair.random().public_key, Asset.native(), "1")
    builder.add_time_bounds(*bounds)
    te = builder.build()
    answer = post(client, signed(te, s))
    assert answer.status_code == 200, answer.text
    record = client.get(f"/tx/{te.hash_hex()}").json()
    assert record["hash"] == te.hash_hex()
    # The decoded view shows the bounds exactly as signed.
    shown = record["summary"]["preconditions"]["timeBounds"]
    assert (shown["minTime"], shown["maxTime"]) == bounds


def test_an_amount_no_transaction_can_have_is_400(client: httpx.Client, net: FakeStellarNetwork,
                                                  accounts: Accounts) -> None:
    """A negative payment amount decodes as XDR but no valid transaction has one (a 500 found by
    fuzzing: the SDK's objects, built only for a new record's summary, refused it)."""
    s = accounts.make()
    te = payment_tx(s, seq=seq_of(net, s)).to_xdr_object()
    assert te.v1 is not None
    te.v1.tx.operations[0].body.payment_op.amount = Int64(-7_566_047_373_972_433)
    xdr = base64.b64encode(te.to_xdr_bytes()).decode()
    answer = error(post(client, xdr), 400)
    assert answer["field"] == "xdr" and "Invalid transaction XDR" in str(answer["error"])
