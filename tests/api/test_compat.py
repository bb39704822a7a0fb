"""The original Refractor client flow and wire format, unchanged, over real HTTP, on both engines."""

from __future__ import annotations

import re
import threading

import httpx
from stellar_sdk import Keypair, TransactionEnvelope

from tests import loopback
from tests.api.conftest import Accounts
from tests.builders import PASSPHRASE, payment_tx, signed
from tests.fakenet import FakeStellarNetwork

MASKED = re.compile(r"^G_{46}[A-Z2-7]{5}_{4}$")


def seq_of(net: FakeStellarNetwork, kp: Keypair) -> int:
    account = net.ledger.get_account(kp.public_key)
    assert account is not None
    return account.seq_num


def post(client: httpx.Client, xdr: str, **extra: object) -> httpx.Response:
    return client.post("/tx", json={"network": "testnet", "xdr": xdr, **extra})


def test_service_info(client: httpx.Client) -> None:
    body = client.get("/").json()
    assert body["service"] == "refractor" and body["version"] and body["started"].endswith("Z")


def test_create_cosign_ready_flow(client: httpx.Client, net: FakeStellarNetwork,
                                  accounts: Accounts) -> None:
    a, b = Keypair.random(), Keypair.random()
    s = accounts.make(low=1, med=2, high=3, signers={a.public_key: 1, b.public_key: 1})
    te = payment_tx(s, seq=seq_of(net, s))

    unsigned = post(client, te.to_xdr())
    assert unsigned.status_code == 200
    body = unsigned.json()
    assert re.fullmatch(r"[0-9a-f]{64}", body["hash"]) and body["hash"] == te.hash_hex()
    assert body["status"] == "pending" and body["signatures"] == [] and body["network"] == "testnet"
    assert body["changes"] == {"accepted": [], "rejected": []}

    first = post(client, signed(te, s)).json()
    assert first["status"] == "pending"
    assert [c["key"] for c in first["changes"]["accepted"]] == [s.public_key]
    again = post(client, signed(te, s)).json()
    assert again["changes"] == {"accepted": [], "rejected": []} and len(again["signatures"]) == 1

    ready = post(client, signed(te, a)).json()
    assert ready["status"] == "ready"
    envelope = TransactionEnvelope.from_xdr(ready["xdr"], PASSPHRASE)
    assert len(envelope.signatures) == 2
    assert net.ledger.check(ready["xdr"]).code == "txSUCCESS"

    fetched = client.get(f"/tx/{te.hash_hex()}").json()
    assert "changes" not in fetched
    assert fetched["xdr"] == ready["xdr"] and fetched["signatures"] == ready["signatures"]


def test_surplus_signature_kept_but_not_submitted(client: httpx.Client, net: FakeStellarNetwork,
                                                  accounts: Accounts) -> None:
    a, b = Keypair.random(), Keypair.random()
    s = accounts.make(low=1, med=2, high=3, signers={a.public_key: 1, b.public_key: 1})
    te = payment_tx(s, seq=seq_of(net, s))
    body = post(client, signed(te, s, a, b)).json()
    assert body["status"] == "ready" and len(body["signatures"]) == 3
    assert len(TransactionEnvelope.from_xdr(body["xdr"], PASSPHRASE).signatures) == 2
    # All three would make the network answer txBAD_AUTH_EXTRA; the served envelope never does.
    assert net.ledger.check(signed(te, s, a, b)).code == "txBAD_AUTH_EXTRA"
    assert net.ledger.check(body["xdr"]).code == "txSUCCESS"


def test_outsider_and_wrong_network_signatures_rejected(client: httpx.Client,
                                                        net: FakeStellarNetwork,
                                                        accounts: Accounts) -> None:
    s = accounts.make()
    te = payment_tx(s, seq=seq_of(net, s))
    outsider = post(client, signed(te, Keypair.random())).json()
    [rejected] = outsider["changes"]["rejected"]
    assert MASKED.match(rejected["key"]) and rejected["reason"] == "unknown_signer"
    other_net = TransactionEnvelope.from_xdr(te.to_xdr(), "Public Global Stellar Network ; September 2015")
    other_net.sign(s)
    wrong = post(client, other_net.to_xdr()).json()
    assert wrong["changes"]["accepted"] == [] and len(wrong["changes"]["rejected"]) == 1
    assert wrong["changes"]["rejected"][0]["reason"] == "invalid_signature"


def test_multi_source_needs_every_account(client: httpx.Client, net: FakeStellarNetwork,
                                          accounts: Accounts) -> None:
    s1 = accounts.make(low=1, med=1, high=1)
    s2 = accounts.make(low=1, med=1, high=1)
    te = payment_tx(s1, seq=seq_of(net, s1), op_sources=(None, s2.public_key))
    assert post(client, signed(te, s1)).json()["status"] == "pending"
    body = post(client, signed(te, s2)).json()
    assert body["status"] == "ready"
    assert {a["account"] for a in body["progress"]["accounts"]} == {s1.public_key, s2.public_key}
    assert net.ledger.check(body["xdr"]).code == "txSUCCESS"


def test_master_weight_zero_rejected_and_zero_thresholds_need_one(client: httpx.Client,
                                                                  net: FakeStellarNetwork,
                                                                  accounts: Accounts) -> None:
    a = Keypair.random()
    nm = accounts.make(master=0, low=1, med=2, high=2, signers={a.public_key: 2})
    te = payment_tx(nm, seq=seq_of(net, nm))
    body = post(client, signed(te, nm, a)).json()
    assert [c["key"] for c in body["changes"]["accepted"]] == [a.public_key]
    assert len(body["changes"]["rejected"]) == 1 and body["status"] == "ready"
    zero = accounts.make()
    te0 = payment_tx(zero, seq=seq_of(net, zero))
    assert post(client, te0.to_xdr()).json()["status"] == "pending"
    assert post(client, signed(te0, zero)).json()["status"] == "ready"


def test_progress_reports_thresholds_weights_and_desired(client: httpx.Client,
                                                         net: FakeStellarNetwork,
                                                         accounts: Accounts) -> None:
    a, b = Keypair.random(), Keypair.random()
    s = accounts.make(low=1, med=3, high=3, signers={a.public_key: 1, b.public_key: 2})
    te = payment_tx(s, seq=seq_of(net, s))
    body = post(client, signed(te, a), desiredSigners=[b.public_key]).json()
    [row] = body["progress"]["accounts"]
    assert (row["threshold"], row["weight"], row["satisfied"], row["level"]) == (3, 1, False, "medium")
    by_key = {r["key"]: r for r in row["signers"]}
    assert by_key[a.public_key]["signed"] and not by_key[b.public_key]["signed"]
    assert by_key[b.public_key]["desired"] and by_key[b.public_key]["weight"] == 2
    assert body["desiredSigners"] == [b.public_key]


def test_first_writer_wins_and_later_params_not_validated(client: httpx.Client,
                                                          net: FakeStellarNetwork,
                                                          accounts: Accounts) -> None:
    s = accounts.make(low=2, med=2, high=2)
    te = payment_tx(s, seq=seq_of(net, s))
    post(client, te.to_xdr(), callbackUrl="https://example.com/cb")
    later = post(client, signed(te, s), submit=True, callbackUrl="not a url", expires=1,
                 desiredSigners="bad")
    assert later.status_code == 200
    body = later.json()
    assert body["submit"] is False and body["callback"] is True


def test_concurrent_first_uploads_keep_every_signature(base_url: str, net: FakeStellarNetwork,
                                                       accounts: Accounts) -> None:
    cosigners = [Keypair.random() for _ in range(6)]
    s = accounts.make(low=6, med=6, high=6, signers={k.public_key: 1 for k in cosigners})
    te = payment_tx(s, seq=seq_of(net, s))
    barrier = threading.Barrier(len(cosigners))
    answers: list[int] = []

    def upload(kp: Keypair) -> None:
        with loopback.client(base_url=base_url, timeout=30) as c:
            barrier.wait()
            answers.append(post(c, signed(te, kp)).status_code)

    threads = [threading.Thread(target=upload, args=(k,)) for k in cosigners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * len(cosigners)
    with loopback.client(base_url=base_url) as c:
        body = c.get(f"/tx/{te.hash_hex()}").json()
    assert sorted(x["key"] for x in body["signatures"]) == sorted(k.public_key for k in cosigners)
    assert body["status"] in ("ready", "processing", "processed")  # the worker may be quicker
    assert net.ledger.check(body["xdr"]).code == "txSUCCESS"


def test_cors_pretty_print_and_uppercase_hash(client: httpx.Client, net: FakeStellarNetwork,
                                              accounts: Accounts) -> None:
    s = accounts.make()
    te = payment_tx(s, seq=seq_of(net, s))
    post(client, te.to_xdr())
    got = client.get(f"/tx/{te.hash_hex().upper()}?prettyPrint",
                     headers={"Origin": "https://wallet.example"})
    assert got.status_code == 200 and got.text.startswith("{\n  ")
    assert got.headers["access-control-allow-origin"] == "https://wallet.example"
    # However the name is spelled in the query string, it means the same as parsed.
    escaped = client.get(f"/tx/{te.hash_hex()}?pretty%50rint=1")
    assert escaped.status_code == 200 and escaped.text.startswith("{\n  ")
    assert not client.get(f"/tx/{te.hash_hex()}?other=prettyPrin").text.startswith("{\n")
    assert "access-control-allow-origin" not in client.get("/").headers
    pre = client.options("/tx", headers={"Origin": "https://a.example",
                                         "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "content-type"})
    assert pre.status_code == 200 and "POST" in pre.headers["access-control-allow-methods"]
    assert pre.headers["access-control-allow-headers"] == "content-type"
    bad = client.post("/tx", content=b"{", headers={"Origin": "https://a.example",
                                                    "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.headers["access-control-allow-origin"] == "https://a.example"
