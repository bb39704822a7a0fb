"""Subscriptions: create (secret shown once), list, delete; per-account limit; validation."""

from __future__ import annotations

import httpx
from stellar_sdk import Keypair

from app.webhooks.signing import decode_secret
from tests.cosign.conftest import token_for


def test_create_list_delete(client: httpx.Client) -> None:
    me = token_for(client, Keypair.random())
    made = client.post("/subscriptions", headers=me,
                       json={"url": "https://hooks.example.org/r", "events": ["tx.ready",
                                                                              "tx.ready"]})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["events"] == ["tx.ready"]
    assert body["secret"].startswith("whsec_") and len(decode_secret(body["secret"])) == 32
    listed = client.get("/subscriptions", headers=me).json()["items"]
    assert listed == [{k: v for k, v in body.items() if k != "secret"}]
    # Another account sees none of it and cannot delete it.
    other = token_for(client, Keypair.random())
    assert client.get("/subscriptions", headers=other).json()["items"] == []
    assert client.delete(f"/subscriptions/{body['id']}", headers=other).status_code == 404
    assert client.delete(f"/subscriptions/{body['id']}", headers=me).status_code == 204
    assert client.get("/subscriptions", headers=me).json()["items"] == []
    assert client.delete(f"/subscriptions/{body['id']}", headers=me).status_code == 404


def test_limit_per_account(client: httpx.Client) -> None:
    me = token_for(client, Keypair.random())
    ids = []
    for i in range(3):  # subscriptions.maxPerAccount in the test config
        got = client.post("/subscriptions", headers=me,
                          json={"url": f"https://hooks.example.org/{i}", "events": ["tx.failed"]})
        assert got.status_code == 201
        ids.append(got.json()["id"])
    over = client.post("/subscriptions", headers=me,
                       json={"url": "https://hooks.example.org/x", "events": ["tx.failed"]})
    assert over.status_code == 409
    assert "at most 3" in over.json()["error"]
    assert client.delete(f"/subscriptions/{ids[0]}", headers=me).status_code == 204
    again = client.post("/subscriptions", headers=me,
                        json={"url": "https://hooks.example.org/x", "events": ["tx.failed"]})
    assert again.status_code == 201


def test_validation(client: httpx.Client) -> None:
    me = token_for(client, Keypair.random())
    cases = [({"events": ["tx.ready"]}, "url"),
             ({"url": "ftp://x.org", "events": ["tx.ready"]}, "url"),
             ({"url": "https://x.org"}, "events"),
             ({"url": "https://x.org", "events": []}, "events"),
             ({"url": "https://x.org", "events": ["tx.nope"]}, "events")]
    for body, field in cases:
        got = client.post("/subscriptions", headers=me, json=body)
        assert got.status_code == 400, body
        assert got.json()["field"] == field
    assert client.post("/subscriptions", json={"url": "https://x.org",
                                               "events": ["tx.ready"]}).status_code == 401
