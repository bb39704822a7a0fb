"""Additions to the original API: search, live updates, manual submit, every signer type, OpenAPI."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from stellar_sdk import Keypair, SignerKey

from tests import loopback
from tests.api.conftest import Accounts
from tests.api.test_compat import post, seq_of
from tests.builders import payment_tx, signed
from tests.fakenet import FakeStellarNetwork


class OpenApi:
    def __init__(self, document: dict[str, Any]) -> None:
        self.doc = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource("urn:openapi", resource)

    def check(self, path: str, method: str, response: httpx.Response) -> None:
        """The response's body matches the schema the document declares for its status, and
        the headers it declares required are there."""
        spec = self.doc["paths"][path][method]["responses"][str(response.status_code)]
        for name, header in spec.get("headers", {}).items():
            assert not header.get("required") or name in response.headers, f"{name} missing"
        schema = spec["content"]["application/json"]["schema"]
        validator = jsonschema.Draft202012Validator(_rebase(schema), registry=self.registry)
        validator.validate(response.json())


def _rebase(schema: Any) -> Any:
    """Point local refs (#/components/...) at the registered document."""
    if isinstance(schema, dict):
        return {k: ("urn:openapi" + v if k == "$ref" and v.startswith("#") else _rebase(v))
                for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rebase(v) for v in schema]
    return schema


@pytest.fixture
def openapi(client: httpx.Client) -> OpenApi:
    doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    return OpenApi(doc)


def test_real_responses_match_the_openapi_document(client: httpx.Client, openapi: OpenApi,
                                                   net: FakeStellarNetwork,
                                                   accounts: Accounts) -> None:
    a = Keypair.random()
    s = accounts.make(low=1, med=2, high=2, signers={a.public_key: 1})
    te = payment_tx(s, seq=seq_of(net, s))
    openapi.check("/", "get", client.get("/"))
    openapi.check("/networks", "get", client.get("/networks"))
    created = post(client, signed(te, s, Keypair.random()), desiredSigners=[a.public_key])
    openapi.check("/tx", "post", created)
    openapi.check("/tx/{hash}", "get", client.get(f"/tx/{te.hash_hex()}"))
    openapi.check("/tx", "get", client.get("/tx", params={"account": s.public_key}))
    openapi.check("/tx", "post", post(client, "AAAA"))
    openapi.check("/tx/{hash}", "get", client.get("/tx/" + "0" * 64))
    openapi.check("/monitoring/health", "get", client.get("/monitoring/health"))
    with pytest.raises(jsonschema.ValidationError):  # the check itself can fail
        openapi.check("/", "get", httpx.Response(200, json={"service": 1}))


def test_search_by_account_signer_and_awaiting(client: httpx.Client, net: FakeStellarNetwork,
                                               accounts: Accounts) -> None:
    a, b = Keypair.random(), Keypair.random()
    s = accounts.make(low=2, med=2, high=2, signers={a.public_key: 1, b.public_key: 1})
    hashes = []
    for i in range(3):
        te = payment_tx(s, seq=seq_of(net, s) + i)
        post(client, signed(te, a) if i == 0 else te.to_xdr())
        hashes.append(te.hash_hex())
    mine = client.get("/tx", params={"account": s.public_key, "limit": 2}).json()
    assert len(mine["items"]) == 2 and mine["next"]
    rest = client.get("/tx", params={"account": s.public_key, "cursor": mine["next"]}).json()
    assert {i["hash"] for i in mine["items"] + rest["items"]} == set(hashes)
    waiting_a = client.get("/tx", params={"awaiting": a.public_key}).json()["items"]
    assert {i["hash"] for i in waiting_a} == set(hashes[1:])
    waiting_b = client.get("/tx", params={"awaiting": b.public_key, "status": "pending"}).json()
    assert {i["hash"] for i in waiting_b["items"]} == set(hashes)
    for bad in ({"status": "nope"}, {"limit": "0"}, {"account": "GBAD"}, {"cursor": "@@"}):
        response = client.get("/tx", params=bad)
        assert response.status_code == 400 and response.json()["field"]


def test_live_updates_over_server_sent_events(base_url: str, net: FakeStellarNetwork,
                                              accounts: Accounts) -> None:
    a = Keypair.random()
    s = accounts.make(low=2, med=2, high=2, signers={a.public_key: 1})
    te = payment_tx(s, seq=seq_of(net, s))
    with loopback.client(base_url=base_url, timeout=30) as c:
        post(c, te.to_xdr())
        with c.stream("GET", f"/tx/{te.hash_hex()}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = _events(stream.iter_lines())
            first = next(events)
            assert first["status"] == "pending"
            with loopback.client(base_url=base_url) as other:
                post(other, signed(te, s, a))
            update = next(events)
            assert len(update["signatures"]) == 2


def _events(lines: Any) -> Any:
    data = None
    for line in lines:
        if line.startswith("data: "):
            data = line[6:]
        elif line == "" and data is not None:
            yield json.loads(data)
            data = None


def test_manual_submit(client: httpx.Client, net: FakeStellarNetwork, accounts: Accounts) -> None:
    s = accounts.make()
    dest = accounts.make()
    te = payment_tx(s, seq=seq_of(net, s), destination=dest.public_key)
    assert client.post(f"/tx/{te.hash_hex()}/submit").status_code == 404
    post(client, te.to_xdr())
    assert client.post(f"/tx/{te.hash_hex()}/submit").status_code == 409  # not signed yet
    post(client, signed(te, s))
    _wait(client, te.hash_hex(), {"processed"})
    accepted = client.post(f"/tx/{te.hash_hex()}/submit")
    assert accepted.status_code == 202 and accepted.json()["submit"] is True
    done = _wait(client, te.hash_hex(), {"processed", "failed"}, submitted=True)
    assert done["status"] == "processed" and done["submitted"], done
    assert net.ledger.get_transaction(te.hash_hex()) is not None
    assert client.post(f"/tx/{te.hash_hex()}/submit").status_code == 409


def _wait(client: httpx.Client, tx_hash: str, statuses: set[str],
          submitted: bool = False) -> dict[str, Any]:
    # Generous: on the MongoDB-wire test server a claim, a send and a look-up are several
    # round trips each to a Python server, and at load 38 they took longer than 20 s.
    deadline = time.monotonic() + 120
    while True:
        body: dict[str, Any] = client.get(f"/tx/{tx_hash}").json()
        if body["status"] in statuses and (not submitted or body["submitted"] or
                                           body["status"] == "failed"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_pre_auth_and_hash_x_signers(client: httpx.Client, net: FakeStellarNetwork,
                                     accounts: Accounts) -> None:
    s = accounts.make(master=0, low=1, med=1, high=1)
    te = payment_tx(s, seq=seq_of(net, s))
    net.ledger.set_signers(s.public_key, [(SignerKey.pre_auth_tx(te.hash()).encoded_signer_key, 1)])
    body = post(client, te.to_xdr()).json()
    assert body["status"] == "ready" and body["signatures"] == []
    preimage = b"correct horse battery staple"
    x_key = SignerKey.sha256_hash(hashlib.sha256(preimage).digest()).encoded_signer_key
    h = accounts.make(master=0, low=1, med=1, high=1, signers={x_key: 1})
    te2 = payment_tx(h, seq=seq_of(net, h))
    te2.sign_hashx(preimage)
    body2 = post(client, te2.to_xdr()).json()
    assert body2["status"] == "ready" and body2["signatures"][0]["key"] == x_key
    assert net.ledger.check(body2["xdr"]).code == "txSUCCESS"


def test_horizon_only_network(tmp_path: Any, net: FakeStellarNetwork) -> None:
    from tests.app_server import app_settings, running_app

    s = Keypair.random()
    net.ledger.create_account(s.public_key, low=1, med=1, high=1)
    settings = app_settings(None, net.horizon_url, str(tmp_path) + "/h.db")
    before = net.stats.get("GET /accounts", 0)
    with running_app(settings) as base, loopback.client(base_url=base) as c:
        te = payment_tx(s, seq=seq_of(net, s))
        body = post(c, signed(te, s)).json()
        assert body["status"] == "ready" and body["progress"]["accounts"][0]["missing"] is False
    assert net.stats.get("GET /accounts", 0) > before
