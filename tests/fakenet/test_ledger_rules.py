"""Sequence numbers, preconditions, fees, fee bumps and ledger effects."""

from __future__ import annotations

import threading
import time

from stellar_sdk import Asset, Keypair, MuxedAccount, TransactionBuilder, TransactionEnvelope, xdr

from .ledger import Ledger
from .txkit import build, fee_bump, signed

XLM = 10_000_000


def _bump(t: TransactionBuilder) -> None:
    t.append_bump_sequence_op(0)


def test_sequence_must_be_next_and_is_consumed(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    start = ledger.create_account(s.public_key, seq=500).seq_num
    skipped = signed(build(ledger, s, _bump, seq=start + 1), s)
    assert ledger.apply(skipped.to_xdr()).code == "txBAD_SEQ"
    env = signed(build(ledger, s, _bump), s)
    first = ledger.apply(env.to_xdr())
    assert (first.status, first.code, first.sequence) == ("applied", "txSUCCESS", start + 1)
    assert ledger.get_account(s.public_key).seq_num == start + 1  # type: ignore[union-attr]
    again = ledger.apply(env.to_xdr())
    assert (again.status, again.code) == ("rejected", "txBAD_SEQ")
    assert ledger.get_transaction(env.hash_hex()) == first


def test_min_seq_num_relaxes_the_sequence_rule(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key, seq=100)

    def gapped(t: TransactionBuilder) -> None:
        t.append_bump_sequence_op(0)
        t.set_min_sequence_number(100)

    env = signed(build(ledger, s, gapped, seq=109), s)  # the tx seq is 110
    assert ledger.apply(env.to_xdr()).code == "txSUCCESS"
    assert ledger.get_account(s.public_key).seq_num == 110  # type: ignore[union-attr]


def test_min_seq_age_is_checked_against_the_last_sequence_change(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    assert ledger.apply(signed(build(ledger, s, _bump), s).to_xdr()).code == "txSUCCESS"

    def aged(t: TransactionBuilder) -> None:
        t.append_bump_sequence_op(0)
        t.set_min_sequence_age(60)

    env = signed(build(ledger, s, aged, timeout=3600), s)
    assert ledger.apply(env.to_xdr()).code == "txBAD_MIN_SEQ_AGE_OR_GAP"
    ledger.advance_time(61)
    assert ledger.apply(env.to_xdr()).code == "txSUCCESS"


def test_time_bounds_follow_the_settable_clock(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    now = ledger.close_time()

    def window(lo: int, hi: int):  # type: ignore[no-untyped-def]
        return lambda t: t.append_bump_sequence_op(0).add_time_bounds(lo, hi)

    early = signed(build(ledger, s, window(now + 100, now + 200), timeout=None), s)
    assert ledger.apply(early.to_xdr()).code == "txTOO_EARLY"
    late = signed(build(ledger, s, window(0, now - 1), timeout=None), s)
    assert ledger.apply(late.to_xdr()).code == "txTOO_LATE"
    ledger.advance_time(150)
    assert ledger.apply(early.to_xdr()).code == "txSUCCESS"


def test_ledger_bounds_use_the_ledger_the_tx_would_close_in(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    nxt = ledger.sequence + 1

    def bounds(lo: int, hi: int):  # type: ignore[no-untyped-def]
        return lambda t: t.append_bump_sequence_op(0).set_ledger_bounds(lo, hi)

    assert ledger.apply(signed(build(ledger, s, bounds(nxt + 1, 0)), s).to_xdr()).code == "txTOO_EARLY"
    assert ledger.apply(signed(build(ledger, s, bounds(0, nxt)), s).to_xdr()).code == "txTOO_LATE"
    ok = ledger.apply(signed(build(ledger, s, bounds(nxt, nxt + 1)), s).to_xdr())
    assert (ok.code, ok.ledger) == ("txSUCCESS", nxt)


def test_fee_must_cover_100_stroops_per_operation(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    cheap = signed(build(ledger, s, _bump, base_fee=99), s)
    assert ledger.apply(cheap.to_xdr()).code == "txINSUFFICIENT_FEE"
    two_ops = signed(
        build(ledger, s, lambda t: t.append_bump_sequence_op(0).append_bump_sequence_op(0), base_fee=1000), s
    )
    result = ledger.apply(two_ops.to_xdr())
    # core charges what the ledger asks (100 per op), not the 1000-per-op bid
    assert (result.code, result.fee_charged) == ("txSUCCESS", 200)
    assert ledger.get_account(s.public_key).balance == 10_000 * XLM - 200  # type: ignore[union-attr]


def test_balance_must_cover_the_fee_above_the_reserve(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key, balance=2 * ledger.base_reserve + 99)
    assert ledger.apply(signed(build(ledger, s, _bump), s).to_xdr()).code == "txINSUFFICIENT_BALANCE"


def test_missing_source_account(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    env = signed(build(ledger, s, _bump, seq=1), s)
    assert ledger.apply(env.to_xdr()).code == "txNO_ACCOUNT"


def test_fee_bump_outer_and_inner_checks(ledger: Ledger, keys: list[Keypair]) -> None:
    s, payer, dest = keys[:3]
    ledger.create_account(s.public_key)
    ledger.create_account(payer.public_key, low=1, med=1, high=1, signers=[(keys[3].public_key, 1)])
    ledger.create_account(dest.public_key)
    inner = signed(build(ledger, s, lambda t: t.append_payment_op(dest.public_key, Asset.native(), "2")), s)
    assert isinstance(inner, TransactionEnvelope)

    unsigned = fee_bump(inner, payer)
    assert ledger.apply(unsigned.to_xdr()).code == "txBAD_AUTH"
    surplus = signed(fee_bump(inner, payer), payer, keys[3])
    assert ledger.apply(surplus.to_xdr()).code == "txBAD_AUTH_EXTRA"
    too_cheap = signed(fee_bump(inner, payer, fee=199), payer)
    assert ledger.apply(too_cheap.to_xdr()).code == "txINSUFFICIENT_FEE"

    bumped = signed(fee_bump(inner, payer), payer)
    result = ledger.apply(bumped.to_xdr())
    assert (result.code, result.inner_code, result.fee_charged) == (
        "txFEE_BUMP_INNER_SUCCESS",
        "txSUCCESS",
        200,
    )
    assert (result.hash, result.inner_hash) == (bumped.hash_hex(), inner.hash_hex())
    assert ledger.get_transaction(inner.hash_hex()) is ledger.get_transaction(bumped.hash_hex())
    assert ledger.get_account(payer.public_key).balance == 10_000 * XLM - 200  # type: ignore[union-attr]
    assert ledger.get_account(s.public_key).balance == 10_000 * XLM - 2 * XLM  # type: ignore[union-attr]
    parsed = xdr.TransactionResult.from_xdr(result.result_xdr)  # type: ignore[arg-type]
    assert parsed.result.inner_result_pair.transaction_hash.hash == inner.hash()  # type: ignore[union-attr]


def test_fee_bump_reports_inner_failures(ledger: Ledger, keys: list[Keypair]) -> None:
    s, payer, stranger = keys[:3]
    ledger.create_account(s.public_key)
    ledger.create_account(payer.public_key)
    inner = signed(build(ledger, s, _bump), stranger)
    assert isinstance(inner, TransactionEnvelope)
    result = ledger.apply(signed(fee_bump(inner, payer), payer).to_xdr())
    assert (result.status, result.code, result.inner_code) == (
        "rejected",
        "txFEE_BUMP_INNER_FAILED",
        "txBAD_AUTH",
    )
    assert result.horizon_result_codes() == {
        "transaction": "tx_fee_bump_inner_failed",
        "inner_transaction": {"transaction": "tx_bad_auth"},
    }
    # The inner bid per operation may not exceed the outer one.
    rich = signed(build(ledger, s, _bump, base_fee=1000), s)
    assert isinstance(rich, TransactionEnvelope)
    stingy = signed(fee_bump(rich, payer, fee=1999), payer)  # 1999 / 2 < 1000 / 1
    assert ledger.apply(stingy.to_xdr()).code == "txINSUFFICIENT_FEE"
    assert ledger.apply(signed(fee_bump(rich, payer, fee=2000), payer).to_xdr()).code.endswith("SUCCESS")


def test_fee_bump_inner_failure_in_the_ledger_still_charges_and_consumes(
    ledger: Ledger, keys: list[Keypair]
) -> None:
    s, payer, nobody = keys[:3]
    start = ledger.create_account(s.public_key).seq_num
    ledger.create_account(payer.public_key)
    inner = signed(build(ledger, s, lambda t: t.append_payment_op(nobody.public_key, Asset.native(), "1")), s)
    assert isinstance(inner, TransactionEnvelope)
    result = ledger.apply(signed(fee_bump(inner, payer), payer).to_xdr())
    assert (result.status, result.successful) == ("applied", False)
    assert (result.code, result.inner_code, result.op_codes) == (
        "txFEE_BUMP_INNER_FAILED",
        "txFAILED",
        ["op_no_destination"],
    )
    assert ledger.get_account(s.public_key).seq_num == start + 1  # type: ignore[union-attr]
    assert ledger.get_account(payer.public_key).balance == 10_000 * XLM - 200  # type: ignore[union-attr]


def test_set_options_and_payments_change_the_ledger(ledger: Ledger, keys: list[Keypair]) -> None:
    s, a, dest = keys[:3]
    ledger.create_account(s.public_key)

    def ops(t: TransactionBuilder) -> None:
        t.append_create_account_op(dest.public_key, "20")
        t.append_ed25519_public_key_signer(a.public_key, 2)
        t.append_set_options_op(master_weight=3, low_threshold=1, med_threshold=2, high_threshold=3)

    assert ledger.apply(signed(build(ledger, s, ops), s).to_xdr()).code == "txSUCCESS"
    acc = ledger.get_account(s.public_key)
    assert acc is not None
    assert (acc.master_weight, acc.thresholds, [(x.key, x.weight) for x in acc.signers]) == (
        3,
        (1, 2, 3),
        [(a.public_key, 2)],
    )
    assert acc.balance == 10_000 * XLM - 20 * XLM - 300
    assert ledger.get_account(dest.public_key).balance == 20 * XLM  # type: ignore[union-attr]
    remove = signed(build(ledger, s, lambda t: t.append_ed25519_public_key_signer(a.public_key, 0)), s)
    assert ledger.apply(remove.to_xdr()).code == "txSUCCESS"
    assert ledger.get_account(s.public_key).signers == ()  # type: ignore[union-attr]


def test_failed_operation_rolls_back_the_others(ledger: Ledger, keys: list[Keypair]) -> None:
    s, dest = keys[:2]
    ledger.create_account(s.public_key)
    ledger.create_account(dest.public_key)

    def ops(t: TransactionBuilder) -> None:
        t.append_payment_op(dest.public_key, Asset.native(), "5")
        t.append_payment_op(dest.public_key, Asset.native(), "100000")

    result = ledger.apply(signed(build(ledger, s, ops), s).to_xdr())
    assert (result.code, result.op_codes) == ("txFAILED", ["op_success", "op_underfunded"])
    assert ledger.get_account(dest.public_key).balance == 10_000 * XLM  # type: ignore[union-attr]


def test_v0_envelopes_are_accepted_with_the_same_hash(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    v1 = build(ledger, s, _bump)
    v1.transaction.v1 = False
    v0 = signed(TransactionEnvelope(v1.transaction, ledger.passphrase), s)
    assert v0.to_xdr_object().type == xdr.EnvelopeType.ENVELOPE_TYPE_TX_V0
    result = ledger.apply(v0.to_xdr())
    assert (result.code, result.hash) == ("txSUCCESS", v0.hash_hex())


def test_garbage_is_malformed_and_still_logged(ledger: Ledger) -> None:
    for junk in ("", "bm90IHhkcg==", "%%%"):
        assert ledger.apply(junk, via="test").status == "malformed"
    assert [s.status for s in ledger.submissions] == ["malformed"] * 3


def test_concurrent_submissions_apply_exactly_once(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    envelope = signed(build(ledger, s, _bump), s).to_xdr()
    results = []
    barrier = threading.Barrier(8)

    def submit() -> None:
        barrier.wait()
        results.append(ledger.apply(envelope))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.code for r in results) == ["txBAD_SEQ"] * 7 + ["txSUCCESS"]
    assert len(ledger.submissions) == 8 and len(ledger.transactions()) == 1


def test_close_time_is_wall_clock_plus_offset(ledger: Ledger) -> None:
    before = int(time.time())
    ledger.time_offset = 3600
    assert before + 3600 <= ledger.close_time() <= int(time.time()) + 3601


def test_muxed_fee_bump_source_pays_from_its_base_account(ledger: Ledger, keys: list[Keypair]) -> None:
    s, payer = keys[:2]
    ledger.create_account(s.public_key)
    ledger.create_account(payer.public_key)
    inner = signed(build(ledger, s, _bump), s)
    muxed_payer = MuxedAccount(payer.public_key, 42).account_muxed
    assert muxed_payer is not None
    result = ledger.apply(signed(fee_bump(inner, muxed_payer), payer).to_xdr())
    assert (result.code, result.fee_account) == ("txFEE_BUMP_INNER_SUCCESS", payer.public_key)


def test_operation_checks_fail_the_transaction_at_admission(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    self_signer = signed(build(ledger, s, lambda t: t.append_ed25519_public_key_signer(s.public_key, 1)), s)
    result = ledger.apply(self_signer.to_xdr())
    assert (result.status, result.code, result.op_results) == (
        "rejected",
        "txFAILED",
        ["SET_OPTIONS_BAD_SIGNER"],
    )
    assert result.op_codes == ["op_bad_signer"]


def test_check_validates_without_side_effects(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    env = signed(build(ledger, s, _bump), s)
    assert ledger.check(env.to_xdr()).status == "valid"
    assert ledger.check("junk").status == "malformed"
    assert ledger.submissions == [] and ledger.transactions() == []
    assert ledger.apply(env.to_xdr()).code == "txSUCCESS"
