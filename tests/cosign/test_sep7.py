"""SEP-7 signing links: the URI verifies with the SDK's parser and the spec's signing payload, and a
wallet-style form POST to its callback adds the signature."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl, urlsplit

import httpx
from stellar_sdk import Keypair
from stellar_sdk.sep.stellar_uri import TransactionStellarUri

from tests.api.conftest import Accounts
from tests.api.test_compat import seq_of
from tests.builders import PASSPHRASE, payment_tx, signed
from tests.cosign.conftest import HOME_DOMAIN, SERVER_KEY, App


def test_link_is_a_signed_sep7_uri(client: httpx.Client, app: App, accounts: Accounts) -> None:
    a = Keypair.random()
    source = accounts.make(master=1, low=2, med=2, high=2, signers={a.public_key: 1})
    te = payment_tx(source, seq=seq_of(app.net, source))
    tx_hash = client.post("/tx", json={"network": "testnet", "xdr": signed(te, source)}).json()["hash"]
    got = client.get(f"/tx/{tx_hash}/sep7")
    assert got.status_code == 200, got.text
    link = got.json()
    assert link["signed"] is True and link["originDomain"] == HOME_DOMAIN
    assert link["callback"] == f"{app.url}/tx/{tx_hash}/sep7"
    uri = TransactionStellarUri.from_uri(link["uri"], PASSPHRASE)
    assert uri.callback == link["callback"]
    assert uri.origin_domain == HOME_DOMAIN
    assert uri.transaction_envelope.hash_hex() == tx_hash
    assert len(uri.transaction_envelope.signatures) == 1  # what has been collected so far
    # SEP-7 "Request signing": 35 zero bytes, 4, the prefix, then the URI up to "&signature=".
    unsigned = link["uri"][: link["uri"].index("&signature=")]
    payload = b"\0" * 35 + b"\4" + b"stellar.sep.7 - URI Scheme" + unsigned.encode()
    params = dict(parse_qsl(urlsplit(link["uri"]).query))
    SERVER_KEY.verify(payload, base64.b64decode(params["signature"]))  # raises if wrong
    assert params["callback"] == "url:" + link["callback"]
    assert params["network_passphrase"] == PASSPHRASE

    # A wallet signs and POSTs the form back.
    wallet_signed = uri.transaction_envelope
    wallet_signed.sign(a)
    back = client.post(link["callback"], data={"xdr": wallet_signed.to_xdr()})
    assert back.status_code == 200, back.text
    assert [c["key"] for c in back.json()["changes"]["accepted"]] == [a.public_key]
    assert back.json()["status"] in ("ready", "processing", "processed")
    assert client.get(f"/tx/{tx_hash}/sep7").status_code == 409  # no longer collecting


def test_callback_refuses_another_transaction(client: httpx.Client, app: App,
                                              accounts: Accounts) -> None:
    source = accounts.make(master=1, low=2, med=2, high=2)
    te = payment_tx(source, seq=seq_of(app.net, source))
    tx_hash = client.post("/tx", json={"network": "testnet", "xdr": te.to_xdr()}).json()["hash"]
    other = payment_tx(source, seq=seq_of(app.net, source) + 1)
    got = client.post(f"/tx/{tx_hash}/sep7", data={"xdr": signed(other, source)})
    assert got.status_code == 400
    assert client.post(f"/tx/{tx_hash}/sep7", data={}).status_code == 400
    assert client.post("/tx/" + "cd" * 32 + "/sep7", data={"xdr": te.to_xdr()}).status_code == 404
