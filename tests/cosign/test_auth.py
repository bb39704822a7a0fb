"""SEP-10 web authentication end to end: multisig by the medium threshold, master key for accounts
not on the ledger, and every kind of bad challenge refused with its reason."""

from __future__ import annotations

import base64
import os
import time

import httpx
import jwt
from stellar_sdk import Account, Asset, Keypair, Network, TransactionBuilder, TransactionEnvelope
from stellar_sdk.sep.stellar_web_authentication import read_challenge_transaction

from tests import loopback
from tests.api.conftest import Accounts
from tests.app_server import running_app
from tests.builders import PASSPHRASE, signed
from tests.cosign.conftest import HOME_DOMAIN, SERVER_KEY, App, sign_in


def challenge(client: httpx.Client, account: str) -> TransactionEnvelope:
    got = client.get("/auth", params={"account": account, "network": "testnet"})
    assert got.status_code == 200, got.text
    return TransactionEnvelope.from_xdr(got.json()["transaction"], PASSPHRASE)


def crafted(client_kp: Keypair, *, domain: str = HOME_DOMAIN, min_time: int | None = None,
            max_time: int | None = None, extra_op: bool = False) -> TransactionEnvelope:
    """A challenge made by hand and signed by the server key, to be wrong in one chosen way."""
    now = int(time.time())
    builder = TransactionBuilder(Account(SERVER_KEY.public_key, -1), PASSPHRASE, 100)
    builder.add_time_bounds(now if min_time is None else min_time,
                            now + 300 if max_time is None else max_time)
    builder.append_manage_data_op(f"{domain} auth", base64.b64encode(os.urandom(48)),
                                  source=client_kp.public_key)
    builder.append_manage_data_op("web_auth_domain", HOME_DOMAIN, source=SERVER_KEY.public_key)
    if extra_op:
        builder.append_payment_op(SERVER_KEY.public_key, Asset.native(), "1",
                                  source=client_kp.public_key)
    te = builder.build()
    te.sign(SERVER_KEY)
    te.sign(client_kp)
    return te


def test_stellar_toml_publishes_endpoint_and_key(client: httpx.Client, app: App) -> None:
    got = client.get("/.well-known/stellar.toml")
    assert got.status_code == 200
    assert f'WEB_AUTH_ENDPOINT = "{app.url}/auth"' in got.text
    assert f'SIGNING_KEY = "{SERVER_KEY.public_key}"' in got.text
    assert got.headers["access-control-allow-origin"] == "*"


def test_challenge_is_a_valid_sep10_challenge(client: httpx.Client) -> None:
    kp = Keypair.random()
    got = client.get("/auth", params={"account": kp.public_key, "network": "testnet"}).json()
    parsed = read_challenge_transaction(got["transaction"], SERVER_KEY.public_key, HOME_DOMAIN,
                                        HOME_DOMAIN, got["network_passphrase"])
    assert parsed.client_account_id == kp.public_key
    bounds = parsed.transaction.transaction.preconditions.time_bounds
    assert bounds.max_time - bounds.min_time == 300  # auth.challengeTtl


def test_multisig_account_needs_its_medium_threshold(client: httpx.Client,
                                                     accounts: Accounts) -> None:
    a, b = Keypair.random(), Keypair.random()
    # 2 of 3: master, a and b weigh 1 each; medium threshold 2.
    acct = accounts.make(master=1, low=1, med=2, high=3, signers={a.public_key: 1,
                                                                  b.public_key: 1})
    one = sign_in(client, a, account=acct.public_key)
    assert one.status_code == 401, one.text
    assert "do not meet threshold" in one.json()["error"]
    two = sign_in(client, a, b, account=acct.public_key)
    assert two.status_code == 200, two.text
    claims = jwt.decode(two.json()["token"], options={"verify_signature": False})
    assert claims["sub"] == acct.public_key
    assert claims["exp"] > claims["iat"]
    headers = {"Authorization": "Bearer " + two.json()["token"]}
    assert client.get("/subscriptions", headers=headers).status_code == 200


def test_stranger_signature_is_refused(client: httpx.Client, accounts: Accounts) -> None:
    acct = accounts.make(master=1, low=1, med=1, high=1)
    got = sign_in(client, Keypair.random(), account=acct.public_key)
    assert got.status_code == 401
    assert "Challenge rejected" in got.json()["error"]


def test_account_not_on_ledger_signs_with_its_master_key(client: httpx.Client) -> None:
    kp = Keypair.random()
    assert sign_in(client, kp).status_code == 200
    assert sign_in(client, Keypair.random(), account=kp.public_key).status_code == 401


def test_replayed_challenge_is_refused(client: httpx.Client) -> None:
    kp = Keypair.random()
    xdr = signed(challenge(client, kp.public_key), kp)
    assert client.post("/auth", json={"transaction": xdr}).status_code == 200
    again = client.post("/auth", json={"transaction": xdr})
    assert again.status_code == 400
    assert "used already" in again.json()["error"]


def test_replay_is_refused_by_another_process(app: App) -> None:
    """Used challenges live in the store: a second app instance on the same database refuses."""
    kp = Keypair.random()
    with running_app(app.settings) as other, loopback.client(timeout=30) as c:
        xdr = signed(challenge(c.__class__(base_url=app.url, timeout=30), kp.public_key), kp)
        assert c.post(app.url + "/auth", json={"transaction": xdr}).status_code == 200
        replay = c.post(other + "/auth", json={"transaction": xdr})
        assert replay.status_code == 400, replay.text
        # Tokens issued by one process are good at the other (same key).
        fresh = signed(challenge(c.__class__(base_url=other, timeout=30), kp.public_key), kp)
        token = c.post(other + "/auth", json={"transaction": fresh}).json()["token"]
        mine = c.get(app.url + "/subscriptions", headers={"Authorization": f"Bearer {token}"})
        assert mine.status_code == 200


def test_expired_challenge_is_refused(client: httpx.Client) -> None:
    kp = Keypair.random()
    now = int(time.time())
    te = crafted(kp, min_time=now - 1000, max_time=now - 500)
    got = client.post("/auth", json={"transaction": te.to_xdr()})
    assert got.status_code == 400
    assert "timebounds" in got.json()["error"]


def test_wrong_home_domain_is_refused(client: httpx.Client) -> None:
    kp = Keypair.random()
    got = client.post("/auth", json={"transaction": crafted(kp, domain="evil.test").to_xdr()})
    assert got.status_code == 400
    assert "home domain" in got.json()["error"]


def test_extra_operations_are_refused(client: httpx.Client) -> None:
    kp = Keypair.random()
    got = client.post("/auth", json={"transaction": crafted(kp, extra_op=True).to_xdr()})
    assert got.status_code == 400
    assert "Operation type should be ManageData" in got.json()["error"]


def test_wrong_network_is_refused(client: httpx.Client) -> None:
    """Signed for another network: the client's signature covers a different hash."""
    kp = Keypair.random()
    te = challenge(client, kp.public_key)
    other = TransactionEnvelope.from_xdr(te.to_xdr(), Network.PUBLIC_NETWORK_PASSPHRASE)
    other.sign(kp)
    got = client.post("/auth", json={"transaction": other.to_xdr()})
    assert got.status_code == 401
    assert "not signed by any client signer" in got.json()["error"]
    # A network the server does not serve cannot even be asked for.
    assert client.get("/auth", params={"account": kp.public_key}).status_code == 400  # public


def test_challenge_from_another_server_is_refused(client: httpx.Client) -> None:
    kp = Keypair.random()
    now = int(time.time())
    builder = TransactionBuilder(Account(SERVER_KEY.public_key, -1), PASSPHRASE, 100)
    builder.add_time_bounds(now, now + 300)
    builder.append_manage_data_op(f"{HOME_DOMAIN} auth", base64.b64encode(os.urandom(48)),
                                  source=kp.public_key)
    te = builder.build()
    te.sign(Keypair.random())  # not the server
    te.sign(kp)
    got = client.post("/auth", json={"transaction": te.to_xdr()})
    assert got.status_code == 400
    assert "not signed by server" in got.json()["error"]


def test_bad_requests(client: httpx.Client) -> None:
    assert client.get("/auth").status_code == 400
    assert client.get("/auth", params={"account": "GABC"}).status_code == 400
    assert client.post("/auth", json={}).status_code == 400
    assert client.post("/auth", json={"transaction": "bm90IHhkcg=="}).status_code == 400
    assert client.post("/auth", content=b"[1]",
                       headers={"content-type": "application/json"}).status_code == 400


def test_bad_tokens_are_401(client: httpx.Client) -> None:
    assert client.get("/subscriptions").status_code == 401
    bad = client.get("/subscriptions", headers={"Authorization": "Bearer abc.def.ghi"})
    assert bad.status_code == 401
    assert client.get("/subscriptions", headers={"Authorization": "Basic eA=="}).status_code == 401
    forged = jwt.encode({"sub": Keypair.random().public_key, "iss": f"https://{HOME_DOMAIN}/auth",
                         "iat": int(time.time()), "exp": int(time.time()) + 60}, "a-guessed-key-" * 4,
                        algorithm="HS256")
    got = client.get("/subscriptions", headers={"Authorization": f"Bearer {forged}"})
    assert got.status_code == 401
    assert got.json()["status"] == 401
    # Marked so clients know to sign in again (RFC 6750), unlike "sign in first".
    assert got.json()["reason"] == "invalid_token"
    assert got.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "reason" not in client.get("/subscriptions").json()
