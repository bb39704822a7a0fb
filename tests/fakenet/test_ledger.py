"""Signature and threshold strictness, checked with real stellar_sdk-signed transactions."""

from __future__ import annotations

import hashlib

from stellar_sdk import (
    Asset,
    Keypair,
    MuxedAccount,
    SignedPayloadSigner,
    Signer,
    SignerKey,
    TransactionBuilder,
    TransactionEnvelope,
    xdr,
)

from .ledger import Ledger
from .txkit import build, signed, with_raw_signatures


def _pay(to: str, source: str | None = None):  # type: ignore[no-untyped-def]
    return lambda b: b.append_payment_op(to, Asset.native(), "1", source=source)


def _multisig(ledger: Ledger, s: Keypair, a: Keypair, b: Keypair) -> None:
    # The reference setup: master 1, A and B weight 1, thresholds low/med/high = 1/2/3.
    ledger.create_account(s.public_key, low=1, med=2, high=3, signers=[(a.public_key, 1), (b.public_key, 1)])


def test_each_threshold_level_needs_its_own_weight(ledger: Ledger, keys: list[Keypair]) -> None:
    s, a, b, dest = keys[:4]
    _multisig(ledger, s, a, b)
    ledger.create_account(dest.public_key)

    bump = signed(build(ledger, s, lambda t: t.append_bump_sequence_op(0)), a)
    assert ledger.apply(bump.to_xdr()).code == "txSUCCESS"  # LOW: one signature

    pay = signed(build(ledger, s, _pay(dest.public_key)), a)
    rejected = ledger.apply(pay.to_xdr())
    assert (rejected.status, rejected.code, rejected.op_codes) == ("rejected", "txFAILED", ["op_bad_auth"])
    assert ledger.apply(signed(pay, b).to_xdr()).code == "txSUCCESS"  # MEDIUM: two

    add_signer = build(ledger, s, lambda t: t.append_ed25519_public_key_signer(keys[5].public_key, 1))
    signed(add_signer, a, b)
    assert ledger.apply(add_signer.to_xdr()).op_codes == ["op_bad_auth"]
    assert ledger.apply(signed(add_signer, s).to_xdr()).code == "txSUCCESS"  # HIGH: three
    assert {x.key for x in ledger.get_account(s.public_key).signers} >= {keys[5].public_key}  # type: ignore[union-attr]

    home = signed(build(ledger, s, lambda t: t.append_set_options_op(home_domain="example.org")), a, b)
    assert ledger.apply(home.to_xdr()).code == "txSUCCESS"  # setOptions without auth fields: MEDIUM

    merge = signed(build(ledger, s, lambda t: t.append_account_merge_op(dest.public_key)), a, b)
    assert ledger.apply(merge.to_xdr()).op_codes == ["op_bad_auth"]  # accountMerge: HIGH


def test_transaction_source_needs_low_threshold(ledger: Ledger, keys: list[Keypair]) -> None:
    s, a, b = keys[:3]
    ledger.create_account(s.public_key, low=2, med=2, high=2, signers=[(a.public_key, 1)])
    bump = signed(build(ledger, s, lambda t: t.append_bump_sequence_op(0)), a)
    result = ledger.apply(bump.to_xdr())
    assert (result.code, result.op_codes) == ("txBAD_AUTH", [])
    assert ledger.apply(signed(bump, s).to_xdr()).code == "txSUCCESS"


def test_zero_thresholds_still_need_one_valid_signature(ledger: Ledger, keys: list[Keypair]) -> None:
    s, stranger = keys[:2]
    ledger.create_account(s.public_key)
    env = build(ledger, s, lambda t: t.append_bump_sequence_op(0))
    assert ledger.apply(env.to_xdr()).code == "txBAD_AUTH"
    assert ledger.apply(signed(env, stranger).to_xdr()).code == "txBAD_AUTH"
    env.signatures.clear()
    assert ledger.apply(signed(env, s).to_xdr()).code == "txSUCCESS"


def test_surplus_signature_is_bad_auth_extra(ledger: Ledger, keys: list[Keypair]) -> None:
    s, a, b = keys[:3]
    ledger.create_account(s.public_key, low=1, med=1, high=1, signers=[(a.public_key, 1)])
    env = signed(build(ledger, s, lambda t: t.append_bump_sequence_op(0)), s, a)
    assert ledger.apply(env.to_xdr()).code == "txBAD_AUTH_EXTRA"
    outsider = signed(build(ledger, s, lambda t: t.append_bump_sequence_op(0)), s, b)
    assert ledger.apply(outsider.to_xdr()).code == "txBAD_AUTH_EXTRA"
    duplicate = build(ledger, s, lambda t: t.append_bump_sequence_op(0))
    duplicate.sign(s)
    duplicate.signatures.append(duplicate.signatures[0])
    assert ledger.apply(duplicate.to_xdr()).code == "txBAD_AUTH_EXTRA"


def test_signature_consumed_by_another_source_is_not_surplus(ledger: Ledger, keys: list[Keypair]) -> None:
    s, t, a = keys[:3]
    ledger.create_account(s.public_key, low=1, med=1, high=1)
    ledger.create_account(t.public_key, master_weight=0, low=1, med=1, high=1, signers=[(a.public_key, 1)])
    env = build(
        ledger,
        s,
        lambda b: b.append_bump_sequence_op(0).append_manage_data_op("k", b"v", source=t.public_key),
    )
    assert ledger.apply(signed(env, s).to_xdr()).op_codes == ["op_success", "op_bad_auth"]
    result = ledger.apply(signed(env, a).to_xdr())
    assert (result.code, result.op_codes) == ("txSUCCESS", ["op_success", "op_success"])


def test_one_signature_serves_two_accounts(ledger: Ledger, keys: list[Keypair]) -> None:
    s, t, a = keys[:3]
    ledger.create_account(s.public_key, master_weight=0, signers=[(a.public_key, 1)])
    ledger.create_account(t.public_key, master_weight=0, signers=[(a.public_key, 1)])
    env = build(
        ledger, s, lambda b: b.append_bump_sequence_op(0).append_bump_sequence_op(0, source=t.public_key)
    )
    assert ledger.apply(signed(env, a).to_xdr()).code == "txSUCCESS"


def test_envelope_order_decides_which_signatures_are_used(ledger: Ledger, keys: list[Keypair]) -> None:
    s, a, b, dest = keys[:4]
    ledger.create_account(
        s.public_key, master_weight=0, med=2, signers=[(a.public_key, 1), (b.public_key, 2)]
    )
    ledger.create_account(dest.public_key)
    # [A, B]: A alone is short of 2, so the scan goes on to B and uses both.
    first = signed(build(ledger, s, _pay(dest.public_key)), a, b)
    # [B, A]: B reaches 2 at once; A is never looked at, so it is surplus.
    second = signed(build(ledger, s, _pay(dest.public_key)), b, a)
    assert ledger.apply(second.to_xdr()).code == "txBAD_AUTH_EXTRA"
    assert ledger.apply(first.to_xdr()).code == "txSUCCESS"


def test_master_weight_zero_cannot_sign(ledger: Ledger, keys: list[Keypair]) -> None:
    s, a = keys[:2]
    ledger.create_account(s.public_key, master_weight=0, signers=[(a.public_key, 1)])
    env = build(ledger, s, lambda t: t.append_bump_sequence_op(0))
    assert ledger.apply(signed(env, s).to_xdr()).code == "txBAD_AUTH"


def test_wrong_network_signature_is_bad_auth(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    env = build(
        ledger,
        s,
        lambda t: t.append_bump_sequence_op(0),
        passphrase="Public Global Stellar Network ; September 2015",
    )
    assert ledger.apply(signed(env, s).to_xdr()).code == "txBAD_AUTH"


def test_pre_auth_signer_needs_no_signature_and_is_removed(ledger: Ledger, keys: list[Keypair]) -> None:
    s, dest = keys[:2]
    ledger.create_account(s.public_key, low=1, med=1, high=1)
    ledger.create_account(dest.public_key)
    env = build(ledger, s, _pay(dest.public_key), seq=ledger.get_account(s.public_key).seq_num)  # type: ignore[union-attr]
    pre_auth = SignerKey.pre_auth_tx(env.hash()).encoded_signer_key
    ledger.set_signers(s.public_key, [(pre_auth, 1)])
    with_sig = signed(build(ledger, s, _pay(dest.public_key)), s)
    assert with_sig.hash() == env.hash()  # same body; the hash excludes signatures
    assert ledger.apply(with_sig.to_xdr()).code == "txBAD_AUTH_EXTRA"
    result = ledger.apply(env.to_xdr())
    assert result.code == "txSUCCESS"
    assert ledger.get_account(s.public_key).signers == ()  # type: ignore[union-attr]


def test_pre_auth_signer_is_removed_even_when_the_transaction_fails(
    ledger: Ledger, keys: list[Keypair]
) -> None:
    s, nobody = keys[:2]
    ledger.create_account(s.public_key, master_weight=0)
    env = build(ledger, s, _pay(nobody.public_key))
    ledger.set_signers(s.public_key, [(SignerKey.pre_auth_tx(env.hash()).encoded_signer_key, 1)])
    result = ledger.apply(env.to_xdr())
    assert (result.status, result.code, result.op_codes) == ("applied", "txFAILED", ["op_no_destination"])
    assert ledger.get_account(s.public_key).signers == ()  # type: ignore[union-attr]


def test_hash_x_signer_takes_the_preimage(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    preimage = b"open sesame"
    hash_x = SignerKey.sha256_hash(hashlib.sha256(preimage).digest()).encoded_signer_key
    ledger.create_account(s.public_key, master_weight=0, signers=[(hash_x, 1)])
    wrong = build(ledger, s, lambda t: t.append_bump_sequence_op(0))
    wrong.sign_hashx(b"open sesame!")
    assert ledger.apply(wrong.to_xdr()).code == "txBAD_AUTH"
    right = build(ledger, s, lambda t: t.append_bump_sequence_op(0))
    right.sign_hashx(preimage)
    assert ledger.apply(right.to_xdr()).code == "txSUCCESS"


def test_signed_payload_signer_signs_the_raw_payload(ledger: Ledger, keys: list[Keypair]) -> None:
    s, a = keys[:2]
    payload = b"\x01\x02"  # shorter than 4 bytes: the hint is zero-padded
    key = SignerKey.ed25519_signed_payload(SignedPayloadSigner(a.public_key, payload)).encoded_signer_key
    ledger.create_account(s.public_key, master_weight=0, signers=[(key, 1)])
    plain = signed(build(ledger, s, lambda t: t.append_bump_sequence_op(0)), a)
    assert ledger.apply(plain.to_xdr()).code == "txBAD_AUTH"  # a tx-hash signature does not match
    env = build(ledger, s, lambda t: t.append_bump_sequence_op(0))
    env.signatures.append(a.sign_payload_decorated(payload))
    assert ledger.apply(env.to_xdr()).code == "txSUCCESS"


def test_extra_signers_each_need_a_signature(ledger: Ledger, keys: list[Keypair]) -> None:
    s, k, p = keys[:3]
    ledger.create_account(s.public_key)
    payload_key = SignerKey.ed25519_signed_payload(SignedPayloadSigner(p.public_key, b"invoice-42"))

    def make() -> TransactionEnvelope:
        def add(t: TransactionBuilder) -> None:
            t.append_bump_sequence_op(0)
            t.add_extra_signer(SignerKey.ed25519_public_key(k.public_key))
            t.add_extra_signer(payload_key)

        return build(ledger, s, add)

    assert ledger.apply(signed(make(), s).to_xdr()).code == "txBAD_AUTH"
    assert ledger.apply(signed(make(), s, k).to_xdr()).code == "txBAD_AUTH"
    env = signed(make(), s, k)
    env.signatures.append(p.sign_payload_decorated(b"invoice-42"))
    assert ledger.apply(env.to_xdr()).code == "txSUCCESS"


def test_muxed_accounts_resolve_to_their_base_account(ledger: Ledger, keys: list[Keypair]) -> None:
    s, t, dest = keys[:3]
    ledger.create_account(s.public_key)
    ledger.create_account(t.public_key)
    ledger.create_account(dest.public_key)
    m_source = MuxedAccount(s.public_key, 7).account_muxed
    m_op = MuxedAccount(t.public_key, 8).account_muxed
    m_dest = MuxedAccount(dest.public_key, 9).account_muxed
    assert m_source and m_op and m_dest
    env = build(ledger, m_source, lambda b: b.append_payment_op(m_dest, Asset.native(), "3", source=m_op))
    assert ledger.apply(signed(env, s).to_xdr()).op_codes == ["op_bad_auth"]
    result = ledger.apply(signed(env, t).to_xdr())
    assert result.code == "txSUCCESS" and result.source_account == s.public_key
    assert ledger.get_account(dest.public_key).balance == 10_000 * 10**7 + 3 * 10**7  # type: ignore[union-attr]


def test_missing_op_source_needs_its_own_key_then_fails_in_the_ledger(
    ledger: Ledger, keys: list[Keypair]
) -> None:
    s, ghost = keys[:2]
    ledger.create_account(s.public_key)
    env = build(ledger, s, lambda b: b.append_bump_sequence_op(0, source=ghost.public_key))
    assert ledger.apply(signed(env, s).to_xdr()).op_codes == ["op_bad_auth"]
    result = ledger.apply(signed(env, ghost).to_xdr())
    assert (result.status, result.code, result.op_codes) == ("applied", "txFAILED", ["op_no_source_account"])


def test_account_created_earlier_in_the_transaction_can_be_an_op_source(
    ledger: Ledger, keys: list[Keypair]
) -> None:
    s, fresh, a = keys[:3]
    ledger.create_account(s.public_key)

    def ops(b):  # type: ignore[no-untyped-def]
        b.append_create_account_op(fresh.public_key, "5")
        b.append_ed25519_public_key_signer(a.public_key, 1, source=fresh.public_key)

    result = ledger.apply(signed(build(ledger, s, ops), s, fresh).to_xdr())
    assert result.code == "txSUCCESS"
    assert [x.key for x in ledger.get_account(fresh.public_key).signers] == [a.public_key]  # type: ignore[union-attr]


def test_more_than_twenty_signatures_is_malformed(ledger: Ledger, keys: list[Keypair]) -> None:
    s = keys[0]
    ledger.create_account(s.public_key)
    env = signed(build(ledger, s, lambda t: t.append_bump_sequence_op(0)), s)
    sig = env.signatures[0].to_xdr_object()
    assert ledger.apply(with_raw_signatures(env, [sig] * 21)).status == "malformed"
    twenty = ledger.apply(with_raw_signatures(env, [sig] * 20))
    assert (twenty.status, twenty.code) == ("rejected", "txBAD_AUTH_EXTRA")


def test_signer_weights_above_255_are_capped_not_rejected(ledger: Ledger, keys: list[Keypair]) -> None:
    s, a = keys[:2]
    ledger.create_account(
        s.public_key, master_weight=0, low=255, med=255, high=255, signers=[(a.public_key, 1000)]
    )
    env = signed(
        build(
            ledger,
            s,
            lambda t: t.append_set_options_op(signer=Signer.ed25519_public_key(keys[2].public_key, 1)),
        ),
        a,
    )
    assert ledger.apply(env.to_xdr()).code == "txSUCCESS"


def test_result_xdr_round_trips_through_stellar_sdk(ledger: Ledger, keys: list[Keypair]) -> None:
    s, a, b = keys[:3]
    _multisig(ledger, s, a, b)
    env = signed(build(ledger, s, _pay(keys[3].public_key)), a)
    result = ledger.apply(env.to_xdr())
    assert result.result_xdr is not None
    parsed = xdr.TransactionResult.from_xdr(result.result_xdr)
    assert parsed.to_xdr() == result.result_xdr
    assert parsed.result.code == xdr.TransactionResultCode.txFAILED
    assert parsed.result.results[0].code == xdr.OperationResultCode.opBAD_AUTH  # type: ignore[index]
