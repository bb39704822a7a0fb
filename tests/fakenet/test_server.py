"""The HTTP views, parsed with stellar_sdk's own clients to prove wire compatibility."""

from __future__ import annotations

import httpx
import pytest
from stellar_sdk import Asset, Keypair, Server, SorobanServer, xdr
from stellar_sdk.exceptions import BadRequestError, NotFoundError, SorobanRpcErrorResponse
from stellar_sdk.soroban_rpc import GetTransactionStatus, SendTransactionStatus

from .server import FakeStellarNetwork
from .txkit import build, fee_bump, signed


def _payment(net: FakeStellarNetwork, source: Keypair, dest: str, *signers: Keypair) -> str:
    env = build(net.ledger, source, lambda t: t.append_payment_op(dest, Asset.native(), "1"))
    return signed(env, *signers).to_xdr()


def test_rpc_network_views(net: FakeStellarNetwork) -> None:
    rpc = SorobanServer(net.rpc_url)
    health = rpc.get_health()
    assert (health.status, health.latest_ledger) == ("healthy", net.ledger.sequence)
    assert rpc.get_network().passphrase == net.ledger.passphrase
    latest = rpc.get_latest_ledger()
    header = xdr.LedgerHeader.from_xdr(latest.header_xdr)
    assert header.ledger_seq.uint32 == latest.sequence == net.ledger.sequence
    assert header.scp_value.close_time.time_point.uint64 == latest.close_time
    assert xdr.LedgerCloseMeta.from_xdr(latest.metadata_xdr).v == 0


def test_rpc_ledger_entries(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s, a = keys[:2]
    net.ledger.create_account(
        s.public_key, seq=77, master_weight=2, low=1, med=2, high=3, signers=[(a.public_key, 1)]
    )
    rpc = SorobanServer(net.rpc_url)
    assert rpc.load_account(s.public_key).sequence == 77
    missing = Keypair.random().xdr_account_id()
    keys_xdr = [
        xdr.LedgerKey(xdr.LedgerEntryType.ACCOUNT, account=xdr.LedgerKeyAccount(k))
        for k in [s.xdr_account_id(), missing]
    ]
    answer = rpc.get_ledger_entries(keys_xdr)
    assert len(answer.entries or []) == 1
    entry = xdr.LedgerEntryData.from_xdr(answer.entries[0].xdr).account  # type: ignore[index]
    assert entry is not None
    assert entry.thresholds.thresholds == bytes([2, 1, 2, 3])
    assert [xdr_signer.weight.uint32 for xdr_signer in entry.signers] == [1]
    assert answer.entries[0].last_modified_ledger == net.ledger.sequence  # type: ignore[index]
    with pytest.raises(SorobanRpcErrorResponse) as too_many:
        rpc.get_ledger_entries(keys_xdr[:1] * 201)
    assert too_many.value.code == -32602


def test_rpc_send_and_get_transaction(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s, a, dest = keys[:3]
    net.ledger.create_account(s.public_key, med=2, signers=[(a.public_key, 1)])
    net.ledger.create_account(dest.public_key)
    rpc = SorobanServer(net.rpc_url)

    short = rpc.send_transaction(_payment(net, s, dest.public_key, s))
    assert short.status == SendTransactionStatus.ERROR
    error = xdr.TransactionResult.from_xdr(short.error_result_xdr)  # type: ignore[arg-type]
    assert error.result.code == xdr.TransactionResultCode.txFAILED
    assert rpc.get_transaction(short.hash).status == GetTransactionStatus.NOT_FOUND

    sent = rpc.send_transaction(_payment(net, s, dest.public_key, s, a))
    assert sent.status == SendTransactionStatus.PENDING
    got = rpc.get_transaction(sent.hash)
    assert (got.status, got.ledger, got.fee_bump, got.application_order) == (
        GetTransactionStatus.SUCCESS,
        sent.latest_ledger + 1,
        False,
        1,
    )
    assert xdr.TransactionResult.from_xdr(got.result_xdr).result.code == xdr.TransactionResultCode.txSUCCESS  # type: ignore[arg-type]
    assert xdr.TransactionMeta.from_xdr(got.result_meta_xdr).v == 3  # type: ignore[arg-type]
    with pytest.raises(SorobanRpcErrorResponse) as garbage:
        rpc.send_transaction("AAAA")
    assert (garbage.value.code, garbage.value.message) == (-32602, "invalid_xdr")


def test_rpc_fee_bump_found_by_both_hashes(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s, payer = keys[:2]
    net.ledger.create_account(s.public_key)
    net.ledger.create_account(payer.public_key)
    inner = signed(build(net.ledger, s, lambda t: t.append_bump_sequence_op(0)), s)
    bump = signed(fee_bump(inner, payer), payer)
    rpc = SorobanServer(net.rpc_url)
    assert rpc.send_transaction(bump).status == SendTransactionStatus.PENDING
    for tx_hash in (bump.hash_hex(), inner.hash_hex()):
        got = rpc.get_transaction(tx_hash)
        assert (got.status, got.fee_bump, got.transaction_hash, got.envelope_xdr) == (
            GetTransactionStatus.SUCCESS,
            True,
            tx_hash,
            bump.to_xdr(),
        )


def test_rpc_protocol_errors(net: FakeStellarNetwork) -> None:
    with httpx.Client() as client:
        assert client.post(net.rpc_url, content=b"{").json()["error"]["code"] == -32700
        unknown = client.post(net.rpc_url, json={"jsonrpc": "2.0", "id": 7, "method": "nope"}).json()
        assert (unknown["id"], unknown["error"]["code"]) == (7, -32601)
        bad_hash = {"jsonrpc": "2.0", "id": 1, "method": "getTransaction", "params": {"hash": "ab"}}
        assert client.post(net.rpc_url, json=bad_hash).json()["error"]["code"] == -32602
        batch = [{"jsonrpc": "2.0", "id": i, "method": "getHealth"} for i in range(2)]
        assert [r["id"] for r in client.post(net.rpc_url, json=batch).json()] == [0, 1]
        wire = client.post(net.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "getLatestLedger"}).json()
        assert isinstance(wire["result"]["closeTime"], str)  # int64 `,string` in stellar-rpc


def test_horizon_account_and_root(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s, a = keys[:2]
    net.ledger.create_account(
        s.public_key, seq=12, low=1, med=2, high=3, signers=[(a.public_key, 2)], balance=123_4567890
    )
    horizon = Server(net.horizon_url)
    assert horizon.root().call()["network_passphrase"] == net.ledger.passphrase
    assert horizon.load_account(s.public_key).sequence == 12
    body = horizon.accounts().account_id(s.public_key).call()
    assert body["sequence"] == "12" and body["id"] == s.public_key
    assert body["thresholds"] == {"low_threshold": 1, "med_threshold": 2, "high_threshold": 3}
    assert body["signers"] == [
        {"weight": 2, "key": a.public_key, "type": "ed25519_public_key"},
        {"weight": 1, "key": s.public_key, "type": "ed25519_public_key"},
    ]
    assert body["balances"][0]["balance"] == "123.4567890"
    with pytest.raises(NotFoundError):
        horizon.load_account(Keypair.random().public_key)
    net.ledger.update_account(s.public_key, master_weight=0)
    assert [x["key"] for x in horizon.accounts().account_id(s.public_key).call()["signers"]] == [a.public_key]


def test_horizon_submission(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s, a, dest = keys[:3]
    net.ledger.create_account(s.public_key, med=1, signers=[(a.public_key, 1)])
    net.ledger.create_account(dest.public_key)
    horizon = Server(net.horizon_url)

    with pytest.raises(BadRequestError) as failed:
        horizon.submit_transaction(_payment(net, s, dest.public_key, s, a))
    extras = failed.value.extras
    assert extras is not None and failed.value.type is not None
    assert failed.value.status == 400 and failed.value.type.endswith("/transaction_failed")
    assert extras["result_codes"] == {"transaction": "tx_bad_auth_extra"}
    assert (
        xdr.TransactionResult.from_xdr(extras["result_xdr"]).result.code
        == xdr.TransactionResultCode.txBAD_AUTH_EXTRA
    )

    envelope = _payment(net, s, dest.public_key, a)
    ok = horizon.submit_transaction(envelope)
    assert ok["successful"] is True and ok["ledger"] == net.ledger.sequence
    # Horizon answers a known hash from history rather than resubmitting it.
    assert horizon.submit_transaction(envelope)["hash"] == ok["hash"]
    assert horizon.transactions().transaction(ok["hash"]).call()["envelope_xdr"] == envelope
    with pytest.raises(NotFoundError):
        horizon.transactions().transaction("00" * 32).call()
    malformed = httpx.post(net.horizon_url + "/transactions", data={"tx": "AAAA"})
    assert malformed.status_code == 400
    assert malformed.json()["type"].endswith("/transaction_malformed")


def test_horizon_async_submission(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s, dest = keys[:2]
    net.ledger.create_account(s.public_key)
    net.ledger.create_account(dest.public_key)
    horizon = Server(net.horizon_url)
    pending = horizon.submit_transaction_async(_payment(net, s, dest.public_key, s))
    assert pending["tx_status"] == "PENDING"
    with httpx.Client() as client:
        again = client.post(
            net.horizon_url + "/transactions_async", data={"tx": net.ledger.transactions()[-1].envelope_xdr}
        )
    assert (again.status_code, again.json()["tx_status"]) == (400, "ERROR")
    assert (
        xdr.TransactionResult.from_xdr(again.json()["error_result_xdr"]).result.code
        == xdr.TransactionResultCode.txBAD_SEQ
    )
