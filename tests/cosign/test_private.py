"""Private records: shown only to their parties and their signed-in creator, "not found" to anyone
else, on every read path; public records keep the original's exact shape."""

from __future__ import annotations

import httpx
from stellar_sdk import Keypair, TransactionEnvelope

from tests.api.conftest import Accounts
from tests.api.test_compat import seq_of
from tests.builders import payment_tx, signed
from tests.cosign.conftest import ADMIN_TOKEN, App, sign_in, token_for


def post(client: httpx.Client, xdr: str, headers: dict[str, str] | None = None,
         **extra: object) -> httpx.Response:
    return client.post("/tx", json={"network": "testnet", "xdr": xdr, **extra}, headers=headers)


def setup_private(client: httpx.Client, app: App, accounts: Accounts
                  ) -> tuple[str, Keypair, Keypair, Keypair, dict[str, str]]:
    hash_, source, a, b, auth, _te = setup_private_tx(client, app, accounts)
    return hash_, source, a, b, auth


def setup_private_tx(client: httpx.Client, app: App, accounts: Accounts
                     ) -> tuple[str, Keypair, Keypair, Keypair, dict[str, str], TransactionEnvelope]:
    """A 2-signature account's payment, uploaded privately by a signed-in outsider (the creator)."""
    a, b = Keypair.random(), Keypair.random()
    source = accounts.make(master=0, low=2, med=2, high=2, signers={a.public_key: 1,
                                                                     b.public_key: 1})
    te = payment_tx(source, seq=seq_of(app.net, source))
    creator = Keypair.random()
    creator_auth = token_for(client, creator)
    got = post(client, te.to_xdr(), creator_auth, visibility="private")
    assert got.status_code == 200, got.text
    assert got.json()["visibility"] == "private"
    return got.json()["hash"], source, a, b, creator_auth, te


def test_private_record_is_not_found_for_non_parties(client: httpx.Client, app: App,
                                                    accounts: Accounts) -> None:
    tx_hash, source, a, b, creator_auth = setup_private(client, app, accounts)
    missing = client.get("/tx/" + "ab" * 32)
    hidden = client.get(f"/tx/{tx_hash}")
    assert hidden.status_code == 404
    assert hidden.json()["error"] == missing.json()["error"].replace("ab" * 32, tx_hash)
    stranger = token_for(client, Keypair.random())
    for path in (f"/tx/{tx_hash}", f"/tx/{tx_hash}/events", f"/tx/{tx_hash}/sep7"):
        assert client.get(path, headers=stranger).status_code == 404, path
        assert client.get(path).status_code == 404, path
    assert client.post(f"/tx/{tx_hash}/submit", headers=stranger).status_code == 404
    # Parties and the creator see it.
    as_source = sign_in(client, a, b, account=source.public_key).json()["token"]
    for who in (creator_auth, token_for(client, a), {"Authorization": f"Bearer {as_source}"}):
        shown = client.get(f"/tx/{tx_hash}", headers=who)
        assert shown.status_code == 200
        assert shown.json()["visibility"] == "private"


def test_private_record_is_left_out_of_listings(client: httpx.Client, app: App,
                                               accounts: Accounts) -> None:
    tx_hash, source, a, _b, creator_auth = setup_private(client, app, accounts)
    public = payment_tx(source, seq=seq_of(app.net, source) + 5)
    public_hash = post(client, public.to_xdr()).json()["hash"]

    def listed(headers: dict[str, str] | None, **params: str) -> list[str]:
        got = client.get("/tx", params=params, headers=headers)
        assert got.status_code == 200, got.text
        return [item["hash"] for item in got.json()["items"]]

    assert listed(None, account=source.public_key) == [public_hash]
    assert listed(token_for(client, Keypair.random()), account=source.public_key) == [public_hash]
    assert set(listed(token_for(client, a), account=source.public_key)) == {tx_hash, public_hash}
    assert tx_hash in listed(token_for(client, a), awaiting=a.public_key)
    assert tx_hash not in listed(None, awaiting=a.public_key)
    assert tx_hash in listed(creator_auth, account=source.public_key)


def test_party_signature_shows_the_record_without_a_token(client: httpx.Client, app: App,
                                                          accounts: Accounts) -> None:
    tx_hash, _source, a, b, _creator, te = setup_private_tx(client, app, accounts)
    # No signature, or a stranger's: as if it did not exist.
    assert post(client, te.to_xdr()).status_code == 404
    assert post(client, signed(te, Keypair.random())).status_code == 404
    first = post(client, signed(te, a))
    assert first.status_code == 200, first.text
    assert [c["key"] for c in first.json()["changes"]["accepted"]] == [a.public_key]
    # Posting the same signature again still proves the poster holds it.
    assert post(client, signed(te, a)).status_code == 200
    done = post(client, signed(te, b))
    assert done.json()["status"] in ("ready", "processing", "processed")
    # ...and the record stays private to everyone else.
    assert client.get(f"/tx/{tx_hash}").status_code == 404


def test_private_without_a_token_is_visible_to_parties_only(client: httpx.Client, app: App,
                                                            accounts: Accounts) -> None:
    a = Keypair.random()
    source = accounts.make(master=1, low=1, med=1, high=1, signers={a.public_key: 1})
    te = payment_tx(source, seq=seq_of(app.net, source))
    got = post(client, te.to_xdr(), visibility="private")
    assert got.status_code == 200
    tx_hash = got.json()["hash"]
    assert client.get(f"/tx/{tx_hash}").status_code == 404
    assert client.get(f"/tx/{tx_hash}", headers=token_for(client, a)).status_code == 200


def test_public_records_keep_their_shape(client: httpx.Client, app: App,
                                         accounts: Accounts) -> None:
    source = accounts.make()
    te = payment_tx(source, seq=seq_of(app.net, source))
    got = post(client, te.to_xdr(), visibility="public")
    assert got.status_code == 200
    assert "visibility" not in got.json()
    assert "visibility" not in client.get(f"/tx/{got.json()['hash']}").json()
    bad = post(client, payment_tx(source, seq=seq_of(app.net, source) + 1).to_xdr(),
               visibility="secret")
    assert bad.status_code == 400 and bad.json()["field"] == "visibility"


def test_the_operator_token_is_not_a_sign_in(client: httpx.Client, app: App,
                                             accounts: Accounts) -> None:
    """The admin token shares the Authorization header: on co-signer routes it counts as no sign-in
    (public records as usual, private ones not found), never as a bad token."""
    tx_hash, source, _a, _b, _creator = setup_private(client, app, accounts)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    public = post(client, payment_tx(source, seq=seq_of(app.net, source) + 3).to_xdr())
    assert client.get(f"/tx/{public.json()['hash']}", headers=admin).status_code == 200
    assert client.get(f"/tx/{tx_hash}", headers=admin).status_code == 404
    assert client.get("/tx", params={"account": source.public_key}, headers=admin).status_code == 200
    assert client.get("/subscriptions", headers=admin).status_code == 401
