"""The multisig engine on real, signed transactions: thresholds, signer types, fee bumps, selection."""

from __future__ import annotations

import hashlib

import pytest
from stellar_sdk import (
    Account,
    Keypair,
    MuxedAccount,
    SignerKey,
    TransactionBuilder,
)
from stellar_sdk.signer_key import SignedPayloadSigner

from app.stellar.accounts import AccountData, AccountSigner
from app.stellar.checker import Candidate, select_minimal, simulate
from app.stellar.envelope import Level, parse_envelope
from app.stellar.evaluation import collect_needs, evaluate
from app.stellar.requirements import identify_signer
from app.stellar.signers import masked_hint_key, parse_signer
from tests.builders import PASSPHRASE, fee_bump, payment_tx, signed


def account(kp: Keypair, low: int = 0, med: int = 0, high: int = 0, master: int = 1,
            signers: dict[str, int] | None = None) -> AccountData:
    extra = tuple(AccountSigner(k, w) for k, w in (signers or {}).items())
    return AccountData(kp.public_key, 100, master, low, med, high, extra)


def collected(xdr: str, accounts: dict[str, AccountData]) -> list[Candidate]:
    """The envelope's signatures identified the way POST /tx does it."""
    parsed = parse_envelope(xdr, PASSPHRASE)
    needs = collect_needs(parsed, accounts)
    found = []
    for sig in parsed.signatures:
        key = identify_signer(needs, sig.hint, sig.signature)
        assert key is not None, "every signature in these tests comes from a signer"
        found.append(Candidate(key, sig.hint, sig.signature))
    return found


def test_payment_needs_medium_and_source_low() -> None:
    s = Keypair.random()
    parsed = parse_envelope(payment_tx(s).to_xdr(), PASSPHRASE)
    assert parsed.shape.needs == {s.public_key: Level.MEDIUM}


def test_op_levels_per_operation_source() -> None:
    s, other = Keypair.random(), Keypair.random()
    builder = TransactionBuilder(Account(s.public_key, 1), PASSPHRASE, 100)
    builder.append_bump_sequence_op(5, source=other.public_key)
    builder.append_set_options_op(home_domain="example.com")
    builder.append_account_merge_op(Keypair.random().public_key, source=other.public_key)
    te = builder.set_timeout(60).build()
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    assert parsed.shape.needs == {s.public_key: Level.MEDIUM, other.public_key: Level.HIGH}


def test_set_options_touching_signers_needs_high() -> None:
    s = Keypair.random()
    te = (TransactionBuilder(Account(s.public_key, 1), PASSPHRASE, 100)
          .append_ed25519_public_key_signer(Keypair.random().public_key, 1)
          .set_timeout(60).build())
    assert parse_envelope(te.to_xdr(), PASSPHRASE).shape.needs[s.public_key] is Level.HIGH


def test_muxed_source_authorizes_as_base_account() -> None:
    s = Keypair.random()
    muxed = MuxedAccount(s.public_key, 42)
    te = TransactionBuilder(Account(muxed, 1), PASSPHRASE, 100).append_bump_sequence_op(3)
    parsed = parse_envelope(te.set_timeout(60).build().to_xdr(), PASSPHRASE)
    assert list(parsed.shape.needs) == [s.public_key]


def test_threshold_and_surplus_signature_left_out() -> None:
    s, a, b = Keypair.random(), Keypair.random(), Keypair.random()
    accounts = {s.public_key: account(s, 1, 2, 3, signers={a.public_key: 1, b.public_key: 1})}
    te = payment_tx(s)
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    one = collected(signed(te, s), accounts)
    assert not evaluate(parsed, accounts, one).ready
    three = collected(signed(te, s, a, b), accounts)
    result = evaluate(parsed, accounts, three)
    assert result.ready and result.selected is not None
    assert len(result.selected) == 2  # the third would make core answer txBAD_AUTH_EXTRA
    assert not simulate(collect_needs(parsed, accounts), three).all_used


def test_heavier_signer_preferred() -> None:
    s, a, heavy = Keypair.random(), Keypair.random(), Keypair.random()
    accounts = {s.public_key: account(s, 0, 2, 2, master=1,
                                      signers={a.public_key: 1, heavy.public_key: 2})}
    te = payment_tx(s)
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    result = evaluate(parsed, accounts, collected(signed(te, s, a, heavy), accounts))
    assert result.selected is not None
    assert [c.key for c in result.selected] == [heavy.public_key]


def test_zero_thresholds_still_need_a_signature() -> None:
    s = Keypair.random()
    accounts = {s.public_key: account(s)}
    te = payment_tx(s)
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    assert not evaluate(parsed, accounts, []).ready
    assert evaluate(parsed, accounts, collected(signed(te, s), accounts)).ready


def test_master_weight_zero_cannot_sign() -> None:
    s, a = Keypair.random(), Keypair.random()
    accounts = {s.public_key: account(s, 1, 2, 2, master=0, signers={a.public_key: 2})}
    te = payment_tx(s)
    parsed = parse_envelope(signed(te, s), PASSPHRASE)
    needs = collect_needs(parsed, accounts)
    sig = parsed.signatures[0]
    assert identify_signer(needs, sig.hint, sig.signature) is None


def test_multi_source_needs_each_account_and_shared_signer_counts_once() -> None:
    s1, s2, shared = Keypair.random(), Keypair.random(), Keypair.random()
    accounts = {
        s1.public_key: account(s1, 1, 1, 1, master=0, signers={shared.public_key: 1}),
        s2.public_key: account(s2, 1, 1, 1, master=0, signers={shared.public_key: 1}),
    }
    te = payment_tx(s1, op_sources=(None, s2.public_key))
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    result = evaluate(parsed, accounts, collected(signed(te, shared), accounts))
    assert result.ready and result.selected is not None and len(result.selected) == 1


def test_missing_account_is_master_weight_one_and_reported() -> None:
    s = Keypair.random()
    te = payment_tx(s)
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    result = evaluate(parsed, {}, [])
    assert result.progress["accounts"][0]["missing"] is True
    assert any("does not exist" in w for w in result.progress["warnings"])
    assert evaluate(parsed, {}, collected(signed(te, s), {})).ready


def test_pre_auth_signer_satisfies_without_signature() -> None:
    s = Keypair.random()
    te = payment_tx(s)
    pre_auth = SignerKey.pre_auth_tx(te.hash()).encoded_signer_key
    accounts = {s.public_key: account(s, 1, 1, 1, master=0, signers={pre_auth: 1})}
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    result = evaluate(parsed, accounts, [])
    assert result.ready and result.selected == []


def test_hash_x_signer_takes_the_preimage() -> None:
    s = Keypair.random()
    preimage = b"open sesame"
    hash_x = SignerKey.sha256_hash(hashlib.sha256(preimage).digest()).encoded_signer_key
    accounts = {s.public_key: account(s, 1, 1, 1, master=0, signers={hash_x: 1})}
    te = payment_tx(s)
    te.sign_hashx(preimage)
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    needs = collect_needs(parsed, accounts)
    sig = parsed.signatures[0]
    assert identify_signer(needs, sig.hint, sig.signature) == hash_x
    assert evaluate(parsed, accounts, [Candidate(hash_x, sig.hint, sig.signature)]).ready


def test_signed_payload_extra_signer_hint_and_verification() -> None:
    s, payer = Keypair.random(), Keypair.random()
    payload = b"\x01\x02"  # shorter than 4 bytes: zero-padded for the hint
    p_key = SignerKey.ed25519_signed_payload(
        SignedPayloadSigner(payer.public_key, payload)).encoded_signer_key
    accounts = {s.public_key: account(s)}
    te = payment_tx(s, extra_signers=[p_key])
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    signer = parse_signer(p_key)
    raw = payer.sign(payload)
    expected_hint = bytes(a ^ b for a, b in zip(payer.raw_public_key()[-4:], payload + b"\0\0",
                                                strict=True))
    assert signer.hint == expected_hint
    needs = collect_needs(parsed, accounts)
    assert identify_signer(needs, signer.hint, raw) == p_key
    master = collected(signed(te, s), accounts)
    assert not evaluate(parsed, accounts, master).ready  # the extra signer is still missing
    both = [*master, Candidate(p_key, signer.hint, raw)]
    result = evaluate(parsed, accounts, both)
    assert result.ready and result.progress["extraSigners"] == [{"key": p_key, "signed": True}]


def test_fee_bump_needs_fee_source_low_and_inner_frozen() -> None:
    s, fee = Keypair.random(), Keypair.random()
    accounts = {s.public_key: account(s), fee.public_key: account(fee, 1, 1, 1)}
    inner = payment_tx(s)
    inner.sign(s)
    fb = fee_bump(inner, fee)
    parsed = parse_envelope(fb.to_xdr(), PASSPHRASE)
    assert parsed.is_fee_bump and parsed.inner is not None
    assert parsed.inner.hash == inner.hash()
    assert parsed.shape.needs == {fee.public_key: Level.LOW}
    assert not evaluate(parsed, accounts, []).ready
    outer = collected(signed(fb, fee), accounts)
    assert evaluate(parsed, accounts, outer).ready


def test_fee_bump_with_unsigned_inner_is_not_ready() -> None:
    s, fee = Keypair.random(), Keypair.random()
    accounts = {s.public_key: account(s), fee.public_key: account(fee)}
    fb = fee_bump(payment_tx(s), fee)
    parsed = parse_envelope(fb.to_xdr(), PASSPHRASE)
    result = evaluate(parsed, accounts, collected(signed(fb, fee), accounts))
    assert not result.ready
    assert any("inner transaction is not fully signed" in w for w in result.progress["warnings"])


def test_invalid_envelope_rejected() -> None:
    from app.stellar.envelope import InvalidEnvelope

    for garbage in ("", "AAAA", "not base64!", "AAAAAgAAAAA="):
        with pytest.raises(InvalidEnvelope):
            parse_envelope(garbage, PASSPHRASE)


def test_signature_for_another_network_is_not_identified() -> None:
    s = Keypair.random()
    te = payment_tx(s)
    public_te = type(te).from_xdr(te.to_xdr(), "Public Global Stellar Network ; September 2015")
    public_te.sign(s)
    wrong = public_te.signatures[0]
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    needs = collect_needs(parsed, {s.public_key: account(s)})
    assert identify_signer(needs, bytes(wrong.signature_hint), bytes(wrong.signature)) is None


def test_masked_hint_key_format() -> None:
    import re

    key = masked_hint_key(Keypair.random().signature_hint())
    assert re.fullmatch(r"G_{46}[A-Z2-7]{5}_{4}", key)


def test_select_minimal_none_when_unsatisfiable() -> None:
    s, a = Keypair.random(), Keypair.random()
    accounts = {s.public_key: account(s, 0, 3, 3, signers={a.public_key: 1})}
    te = payment_tx(s)
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    assert select_minimal(collect_needs(parsed, accounts),
                          collected(signed(te, s, a), accounts)) is None
