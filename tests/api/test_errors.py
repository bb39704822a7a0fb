"""Every client error is a JSON 4xx with a clear message; each test here fails on the original's
behaviour (behaviour reference §7.1)."""

from __future__ import annotations

import time

import httpx
import pytest
from stellar_sdk import Keypair

from tests import loopback
from tests.api.conftest import Accounts
from tests.api.test_compat import post, seq_of
from tests.builders import fee_bump, payment_tx, signed
from tests.fakenet import FakeStellarNetwork


def error(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status and isinstance(body["error"], str) and body["error"]
    return dict(body)


def test_invalid_xdr_exact_body(client: httpx.Client) -> None:
    assert error(post(client, "AAAA"), 400) == {"error": "Invalid transaction XDR", "status": 400,
                                                "field": "xdr"}
    error(client.post("/tx", json={"network": "testnet"}), 400)
    error(client.post("/tx", json={"network": "testnet", "xdr": 5}), 400)


def test_unknown_network_named(client: httpx.Client) -> None:
    body = error(client.post("/tx", json={"network": "futurenet", "xdr": "AAAA"}), 400)
    assert body["error"] == "Unidentified network: futurenet" and body["field"] == "network"


def test_network_aliases_of_the_original(client: httpx.Client, net: FakeStellarNetwork,
                                         accounts: Accounts) -> None:
    s = accounts.make()
    xdr = payment_tx(s, seq=seq_of(net, s)).to_xdr()
    for alias in ("testnet", "test", "TESTNET", "1", 1):
        assert client.post("/tx", json={"network": alias, "xdr": xdr}).status_code == 200
    error(client.post("/tx", json={"network": "Testnet", "xdr": xdr}), 400)


@pytest.mark.parametrize(("raw", "content_type", "status"), [
    (b"{", "application/json", 400),
    (b'"abc"', "application/json", 400),
    (b"null", "application/json", 400),
    (b"[1,2]", "application/json", 400),
    (b"", "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b"xdr=AAAA", "text/plain", 415),
    (b"<tx/>", "application/xml", 415),
])
def test_malformed_bodies(client: httpx.Client, raw: bytes, content_type: str, status: int) -> None:
    error(client.post("/tx", content=raw, headers={"Content-Type": content_type}), status)


def test_body_over_limit_is_413(client: httpx.Client) -> None:
    body = b'{"network":"testnet","xdr":"' + b"A" * 200_000 + b'"}'
    error(client.post("/tx", content=body, headers={"Content-Type": "application/json"}), 413)


def test_json_sent_as_text_plain_and_form_posts_are_parsed(client: httpx.Client,
                                                            net: FakeStellarNetwork,
                                                            accounts: Accounts) -> None:
    s = accounts.make()
    te = payment_tx(s, seq=seq_of(net, s))
    import json

    as_text = client.post("/tx", content=json.dumps({"network": "testnet", "xdr": te.to_xdr()}),
                          headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 200
    form = client.post("/tx", data={"network": "testnet", "xdr": signed(te, s)})
    assert form.status_code == 200 and form.json()["changes"]["accepted"]


@pytest.mark.parametrize("url", [
    "https://api.refractor.space/cb",  # 5-letter TLD, rejected by the original
    "https://example.com:8443/cb",  # port
    "https://EXAMPLE.COM/x",
    "https://my.server/tx-signed",  # the original's own documentation example
    "http://[2606:4700::1111]/cb",
])
def test_valid_callback_urls_accepted(client: httpx.Client, net: FakeStellarNetwork,
                                      accounts: Accounts, url: str) -> None:
    s = accounts.make()
    body = post(client, payment_tx(s, seq=seq_of(net, s)).to_xdr(), callbackUrl=url).json()
    assert body["callback"] is True and "callbackUrl" not in body


@pytest.mark.parametrize("url", [
    "ftp://example.com/x", "https://", "not a url", "https://exa mple.com/",
    # The original's multi-line bypass (SSRF): a second line must not validate the first.
    "http://127.0.0.1:8080/internal?\nhttps://example.com",
    "javascript:alert(1)", "https://user:pass@example.com/",
])
def test_invalid_callback_urls_rejected(client: httpx.Client, net: FakeStellarNetwork,
                                        accounts: Accounts, url: str) -> None:
    s = accounts.make()
    body = error(post(client, payment_tx(s, seq=seq_of(net, s)).to_xdr(), callbackUrl=url), 400)
    assert body["field"] == "callbackUrl"


def test_desired_signers_error_names_the_right_field(client: httpx.Client, net: FakeStellarNetwork,
                                                     accounts: Accounts) -> None:
    s = accounts.make()
    xdr = payment_tx(s, seq=seq_of(net, s)).to_xdr()
    body = error(post(client, xdr, desiredSigners=["GBAD"]), 400)
    assert '"desiredSigners"' in str(body["error"]) and body["field"] == "desiredSigners"
    error(post(client, xdr, desiredSigners={"a": 1}), 400)


def test_expires_typed_and_validated(client: httpx.Client, net: FakeStellarNetwork,
                                     accounts: Accounts) -> None:
    s = accounts.make()
    now = int(time.time())
    for bad, fragment in ((now - 10, "already passed"), (2**31, "not a valid UNIX date"),
                          ("tomorrow", "not a valid UNIX date"), (-1, "not a valid UNIX date"),
                          (True, "expected")):
        xdr = payment_tx(s, seq=seq_of(net, s), timeout=None).to_xdr()
        body = error(post(client, xdr, expires=bad), 400)
        assert fragment in str(body["error"]) and body["field"] == "expires"
    xdr = payment_tx(s, seq=seq_of(net, s), timeout=None).to_xdr()
    stored = post(client, xdr, expires=str(now + 600)).json()
    assert stored["maxTime"] == now + 600  # a number, not the original's string
    xdr = payment_tx(s, seq=seq_of(net, s), timeout=None).to_xdr()
    assert post(client, xdr, expires=now + 600.75).json()["maxTime"] == now + 600


def test_max_time_from_time_bounds_and_expires(client: httpx.Client, net: FakeStellarNetwork,
                                               accounts: Accounts) -> None:
    s = accounts.make()
    now = int(time.time())
    bounded = payment_tx(s, seq=seq_of(net, s), timeout=300)
    tx_max = bounded.transaction.preconditions.time_bounds.max_time  # type: ignore[union-attr]
    assert post(client, bounded.to_xdr()).json()["maxTime"] == tx_max  # no expires needed
    capped = payment_tx(s, seq=seq_of(net, s) + 1, timeout=300)
    cap_max = capped.transaction.preconditions.time_bounds.max_time  # type: ignore[union-attr]
    assert post(client, capped.to_xdr(), expires=now + 10_000).json()["maxTime"] == cap_max
    earlier = payment_tx(s, seq=seq_of(net, s) + 2, timeout=3000)
    assert post(client, earlier.to_xdr(), expires=now + 100).json()["maxTime"] == now + 100


def test_expired_time_bounds_rejected(client: httpx.Client, net: FakeStellarNetwork,
                                      accounts: Accounts) -> None:
    s = accounts.make()
    from stellar_sdk import Account, Asset, TransactionBuilder

    te = (TransactionBuilder(Account(s.public_key, 1), "Test SDF Network ; September 2015", 100)
          .append_payment_op(Keypair.random().public_key, Asset.native(), "1")
          .add_time_bounds(0, int(time.time()) - 5).build())
    body = error(post(client, te.to_xdr()), 400)
    assert "already expired" in str(body["error"])


def test_fee_bump_is_accepted_not_406(client: httpx.Client, net: FakeStellarNetwork,
                                      accounts: Accounts) -> None:
    s, fee = accounts.make(), accounts.make(low=1)
    inner = payment_tx(s, seq=seq_of(net, s), destination=fee.public_key)
    inner.sign(s)
    fb = fee_bump(inner, fee)
    body = post(client, fb.to_xdr()).json()
    assert body["status"] == "pending" and body["feeBump"]["innerHash"] == inner.hash_hex()
    ready = post(client, signed(fb, fee)).json()
    assert ready["status"] == "ready" and net.ledger.check(ready["xdr"]).code == "txFEE_BUMP_INNER_SUCCESS"
    assert client.get(f"/tx/{inner.hash_hex()}").json()["hash"] == fb.hash_hex()


def test_muxed_source_is_not_a_500(client: httpx.Client, net: FakeStellarNetwork,
                                   accounts: Accounts) -> None:
    from stellar_sdk import Account, Asset, MuxedAccount, TransactionBuilder

    s = accounts.make()
    muxed = MuxedAccount(s.public_key, 7)
    te = (TransactionBuilder(Account(muxed, seq_of(net, s)), "Test SDF Network ; September 2015", 100)
          .append_payment_op(s.public_key, Asset.native(), "1").set_timeout(600).build())
    te.sign(s)
    body = post(client, te.to_xdr()).json()
    assert body["status"] in ("ready", "processing", "processed")


def test_missing_account_reported_not_500(client: httpx.Client) -> None:
    ghost = Keypair.random()
    body = post(client, payment_tx(ghost).to_xdr()).json()
    assert body["progress"]["accounts"][0]["missing"] is True
    assert body["progress"]["warnings"]


def test_hash_lookups(client: httpx.Client) -> None:
    missing = "ab" * 32
    assert error(client.get(f"/tx/{missing}"), 404) == {
        "error": f"Transaction {missing} not found.", "status": 404}
    error(client.get("/tx/not-a-hash"), 400)
    error(client.get("/nope"), 404)
    error(client.delete("/tx"), 405)


def test_unreachable_network_is_503_not_500(tmp_path: object) -> None:
    """A 503 with Retry-After, as the OpenAPI document says; GET /auth never asks the network."""
    from stellar_sdk import TransactionEnvelope

    from tests.api.test_extensions import OpenApi
    from tests.app_server import app_settings, running_app
    from tests.builders import PASSPHRASE

    settings = app_settings("http://127.0.0.1:9/rpc", None, str(tmp_path) + "/x.db",
                            auth={"signingKey": Keypair.random().secret,
                                  "homeDomain": "refractor.test"})
    with running_app(settings) as base, loopback.client(base_url=base) as c:
        openapi = OpenApi(c.get("/openapi.json").json())
        s = Keypair.random()
        stored = post(c, payment_tx(s).to_xdr())
        body = error(stored, 503)
        assert "unreachable" in str(body["error"])
        challenge = c.get("/auth", params={"account": s.public_key, "network": "testnet"})
        assert challenge.status_code == 200, challenge.text
        openapi.check("/auth", "get", challenge)
        te = TransactionEnvelope.from_xdr(challenge.json()["transaction"], PASSPHRASE)
        signed_in = c.post("/auth", json={"transaction": signed(te, s)})
        error(signed_in, 503)  # the account's signers cannot be loaded
        for path, response in (("/tx", stored), ("/auth", signed_in)):
            assert response.headers["retry-after"] == "5"
            openapi.check(path, "post", response)


def test_rate_limits_answer_429_with_retry_after(tmp_path: object) -> None:
    from tests.app_server import app_settings, running_app

    settings = app_settings("http://127.0.0.1:9/rpc", None, str(tmp_path) + "/r.db",
                            rateLimit={"post": 3, "general": 1000})
    with running_app(settings) as base, loopback.client(base_url=base) as c:
        answers = [c.post("/tx", json={"network": "testnet", "xdr": "AAAA"}).status_code
                   for _ in range(4)]
        assert answers == [400, 400, 400, 429]
        limited = c.post("/tx", json={})
        body = error(limited, 429)
        assert int(limited.headers["retry-after"]) >= 1 and "Too many" in str(body["error"])
        assert all(c.get("/monitoring/health").status_code == 200 for _ in range(20))
        assert c.get("/").status_code == 200  # the general bucket is separate
