"""The transaction queue (one per source account, like core's) and the CAP-21 account
preconditions as a submitter sees them over RPC and Horizon."""

from __future__ import annotations

import base64

import httpx
from stellar_sdk import Keypair, TransactionBuilder, TransactionEnvelope, xdr

from .ledger import Ledger
from .server import FakeStellarNetwork
from .txkit import build, fee_bump, signed


def _bump(t: TransactionBuilder) -> None:
    t.append_bump_sequence_op(0)


def _chain(ledger: Ledger, kp: Keypair, count: int) -> list[TransactionEnvelope]:
    """count envelopes from kp with consecutive sequence numbers after the account's."""
    account = ledger.get_account(kp.public_key)
    assert account is not None
    return [signed(build(ledger, kp, _bump, seq=account.seq_num + i), kp) for i in range(count)]


def _rpc(net: FakeStellarNetwork, method: str, **params: object) -> dict:  # type: ignore[type-arg]
    reply = httpx.post(net.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    return reply.json()["result"]  # type: ignore[no-any-return]


def test_default_applies_at_once_and_never_queues(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    first, second = _chain(ledger, s, 2)
    assert ledger.apply(first.to_xdr()).status == "applied"
    assert ledger.apply(second.to_xdr()).status == "applied"
    assert ledger.queued() == []


def test_one_queued_transaction_per_source(ledger: Ledger, keys: list[Keypair]) -> None:
    s, other = keys[:2]
    ledger.queue_seconds = None  # held until release()
    start = ledger.create_account(s.public_key).seq_num
    ledger.create_account(other.public_key)
    first, second = _chain(ledger, s, 2)

    queued = ledger.apply(first.to_xdr())
    assert (queued.status, queued.core_status) == ("queued", "PENDING")
    assert ledger.get_transaction(first.hash_hex()) is None
    assert ledger.get_account(s.public_key).seq_num == start  # type: ignore[union-attr]

    # The next sequence from the same source waits its turn; the same envelope is a duplicate.
    later = ledger.apply(second.to_xdr())
    assert (later.status, later.core_status, later.result_xdr) == ("try_again_later", "TRY_AGAIN_LATER", None)
    assert ledger.apply(first.to_xdr()).core_status == "DUPLICATE"
    # A lower sequence than the queued one is refused outright.
    older = signed(build(ledger, s, _bump, seq=start - 1), s)
    assert (ledger.apply(older.to_xdr()).status, ledger.apply(older.to_xdr()).code) == (
        "rejected",
        "txBAD_SEQ",
    )
    # Other sources are not affected.
    assert ledger.apply(_chain(ledger, other, 1)[0].to_xdr()).status == "queued"

    landed = ledger.release()
    assert [r.status for r in landed] == ["applied", "applied"]
    assert ledger.get_account(s.public_key).seq_num == start + 1  # type: ignore[union-attr]
    assert ledger.apply(second.to_xdr()).status == "queued"
    codes = [sub.code for sub in ledger.submissions_of(second.hash_hex())]
    assert codes == ["TRY_AGAIN_LATER", "txSUCCESS"]


def test_queued_transactions_land_after_queue_seconds(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.queue_seconds = 30
    ledger.create_account(s.public_key)
    (env,) = _chain(ledger, s, 1)
    assert ledger.apply(env.to_xdr()).status == "queued"
    assert ledger.get_transaction(env.hash_hex()) is None
    ledger.advance_time(31)  # the next look at the ledger applies what is due
    record = ledger.get_transaction(env.hash_hex())
    assert record is not None and record.successful
    assert len(ledger.submissions_of(env.hash_hex())) == 1


def test_a_transaction_invalid_when_its_ledger_closes_is_dropped(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.queue_seconds = None
    start = ledger.create_account(s.public_key).seq_num
    (env,) = _chain(ledger, s, 1)
    assert ledger.apply(env.to_xdr()).status == "queued"
    ledger.update_account(s.public_key, seq_num=start + 5)  # an outside transaction moved it on
    (result,) = ledger.release()
    assert (result.status, result.code) == ("dropped", "txBAD_SEQ")
    assert ledger.get_transaction(env.hash_hex()) is None
    assert ledger.dropped(env.hash_hex()) == result


def test_fee_bump_replaces_a_queued_transaction_only_with_ten_times_the_bid(
    ledger: Ledger, keys: list[Keypair]
) -> None:
    s, payer = keys[:2]
    ledger.queue_seconds = None
    ledger.create_account(s.public_key)
    ledger.create_account(payer.public_key)
    inner, nxt = _chain(ledger, s, 2)
    assert ledger.apply(inner.to_xdr()).status == "queued"

    cheap = signed(fee_bump(inner, payer, base_fee=500), payer)  # 2 ops x 500 < 10 x 100 x 2
    refused = ledger.apply(cheap.to_xdr())
    assert (refused.status, refused.code, refused.fee_charged) == ("rejected", "txINSUFFICIENT_FEE", 2000)
    other_seq = signed(fee_bump(nxt, payer, base_fee=5000), payer)
    assert ledger.apply(other_seq.to_xdr()).status == "try_again_later"

    rich = signed(fee_bump(inner, payer, base_fee=1000), payer)
    assert ledger.apply(rich.to_xdr()).status == "queued"
    assert [q.hash for q in ledger.queued()] == [rich.hash_hex()]
    # the fee bump is queued: its inner transaction alone is now a duplicate
    assert ledger.apply(inner.to_xdr()).status == "duplicate"
    (landed,) = ledger.release()
    assert (landed.hash, landed.inner_hash, landed.successful) == (rich.hash_hex(), inner.hash_hex(), True)


def test_fee_source_must_afford_everything_it_has_queued(ledger: Ledger, keys: list[Keypair]) -> None:
    a, b, payer = keys[:3]
    ledger.queue_seconds = None
    ledger.create_account(a.public_key)
    ledger.create_account(b.public_key)
    # enough above the reserve for one 400-stroop fee bump, not for two
    ledger.create_account(payer.public_key, balance=2 * ledger.base_reserve + 500)
    (ta,) = _chain(ledger, a, 1)
    (tb,) = _chain(ledger, b, 1)
    assert ledger.apply(signed(fee_bump(ta, payer, base_fee=200), payer).to_xdr()).status == "queued"
    refused = ledger.apply(signed(fee_bump(tb, payer, base_fee=200), payer).to_xdr())
    assert (refused.status, refused.code) == ("rejected", "txINSUFFICIENT_BALANCE")


def test_rpc_and_horizon_answer_for_the_queue(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s = keys[0]
    net.ledger.queue_seconds = None
    net.ledger.horizon_wait = 0.3
    net.ledger.create_account(s.public_key)
    first, second = _chain(net.ledger, s, 2)

    sent = _rpc(net, "sendTransaction", transaction=first.to_xdr())
    assert sent["status"] == "PENDING" and "errorResultXdr" not in sent
    assert _rpc(net, "getTransaction", hash=first.hash_hex())["status"] == "NOT_FOUND"
    assert _rpc(net, "sendTransaction", transaction=first.to_xdr())["status"] == "DUPLICATE"
    assert _rpc(net, "sendTransaction", transaction=second.to_xdr())["status"] == "TRY_AGAIN_LATER"
    busy = httpx.post(net.horizon_url + "/transactions_async", data={"tx": second.to_xdr()})
    assert (busy.status_code, busy.json()["tx_status"]) == (503, "TRY_AGAIN_LATER")
    # Horizon's synchronous endpoint waits for a ledger; TRY_AGAIN_LATER never lands: timeout.
    waited = httpx.post(net.horizon_url + "/transactions", data={"tx": second.to_xdr()}, timeout=10)
    assert waited.status_code == 504

    control = httpx.post(net.control_url + "/queue", json={"release": True}).json()
    assert [r["hash"] for r in control["released"]] == [first.hash_hex()]
    assert _rpc(net, "getTransaction", hash=first.hash_hex())["status"] == "SUCCESS"


def test_horizon_sync_answers_once_the_queued_transaction_lands(
    net: FakeStellarNetwork, keys: list[Keypair]
) -> None:
    s = keys[0]
    httpx.post(net.control_url + "/queue", json={"seconds": 0.2}).raise_for_status()
    net.ledger.create_account(s.public_key)
    (env,) = _chain(net.ledger, s, 1)
    reply = httpx.post(net.horizon_url + "/transactions", data={"tx": env.to_xdr()}, timeout=30)
    assert (reply.status_code, reply.json()["hash"]) == (200, env.hash_hex())


# -- CAP-21 account preconditions, as core checks them ------------------------------------


def test_min_seq_ledger_gap_counts_from_the_ledger_that_moved_the_sequence(
    ledger: Ledger, keys: list[Keypair]
) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    moved = ledger.apply(_chain(ledger, s, 1)[0].to_xdr())
    assert ledger.get_account(s.public_key).seq_ledger == moved.ledger  # type: ignore[union-attr]

    def gapped(t: TransactionBuilder) -> None:
        t.append_bump_sequence_op(0)
        t.set_min_sequence_ledger_gap(3)

    env = signed(build(ledger, s, gapped), s)
    # valid once next ledger - 3 >= seqLedger: the next ledger is moved.ledger + 1
    assert ledger.check(env.to_xdr()).code == "txBAD_MIN_SEQ_AGE_OR_GAP"
    ledger.close_ledger(1)
    assert ledger.check(env.to_xdr()).code == "txBAD_MIN_SEQ_AGE_OR_GAP"
    ledger.close_ledger(1)
    assert ledger.apply(env.to_xdr()).code == "txSUCCESS"


def test_rpc_and_horizon_serve_seq_ledger_and_seq_time(net: FakeStellarNetwork, keys: list[Keypair]) -> None:
    s = keys[0]
    net.ledger.create_account(s.public_key)
    fresh = httpx.get(f"{net.horizon_url}/accounts/{s.public_key}").json()
    assert "sequence_ledger" not in fresh  # like Horizon for an account that never moved
    applied = net.ledger.apply(_chain(net.ledger, s, 1)[0].to_xdr())
    account = net.ledger.get_account(s.public_key)
    assert account is not None and account.seq_ledger == applied.ledger and account.seq_time

    horizon = httpx.get(f"{net.horizon_url}/accounts/{s.public_key}").json()
    assert (horizon["sequence_ledger"], horizon["sequence_time"]) == (
        account.seq_ledger,
        str(account.seq_time),
    )

    key = xdr.LedgerKey(
        xdr.LedgerEntryType.ACCOUNT, account=xdr.LedgerKeyAccount(s.xdr_account_id())
    ).to_xdr()
    (entry,) = _rpc(net, "getLedgerEntries", keys=[key])["entries"]
    data = xdr.LedgerEntryData.from_xdr(entry["xdr"]).account
    assert data is not None
    v3 = data.ext.v1.ext.v2.ext.v3  # type: ignore[union-attr]
    assert (v3.seq_ledger.uint32, v3.seq_time.time_point.uint64) == (account.seq_ledger, account.seq_time)
    assert base64.b64decode(entry["xdr"])  # a real XDR blob, not a JSON rendering
