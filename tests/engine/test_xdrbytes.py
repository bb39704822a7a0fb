"""The byte-level envelope shortcuts agree with stellar-sdk's full encode/decode, for every shape."""

from __future__ import annotations

import warnings

from hypothesis import given, settings
from hypothesis import strategies as st
from stellar_sdk import Account, Asset, Keypair, SignerKey, TransactionBuilder, TransactionEnvelope

from app.stellar.envelope import Sig, _shape, attach_signatures, parse_envelope
from tests.builders import PASSPHRASE, fee_bump, payment_tx

KEYS = [Keypair.from_raw_ed25519_seed(bytes([i + 1]) * 32) for i in range(4)]


@settings(max_examples=60, deadline=None)
@given(signers=st.lists(st.sampled_from(KEYS), max_size=4, unique=True),
       preimages=st.lists(st.binary(min_size=1, max_size=64), max_size=3, unique=True),
       ops=st.integers(1, 3), bump=st.booleans())
def test_hash_unsigned_and_attach_match_the_sdk(signers: list[Keypair], preimages: list[bytes],
                                                ops: int, bump: bool) -> None:
    te = payment_tx(KEYS[0], op_sources=[None] * ops)
    for kp in signers:
        te.sign(kp)
    for p in preimages:  # odd lengths exercise the XDR padding
        te.sign_hashx(p)
    envelope = fee_bump(te, KEYS[1]) if bump else te
    if bump:
        for kp in signers:
            envelope.sign(kp)
    parsed = parse_envelope(envelope.to_xdr(), PASSPHRASE)
    assert parsed.hash == envelope.hash()
    unsigned = type(envelope).from_xdr(envelope.to_xdr(), PASSPHRASE)
    unsigned.signatures = []
    assert parsed.unsigned_xdr == unsigned.to_xdr()
    rebuilt = attach_signatures(parsed.unsigned_xdr, list(parsed.signatures))
    assert rebuilt == envelope.to_xdr()


def test_v0_envelope_falls_back_to_the_sdk() -> None:
    from stellar_sdk import xdr as stellar_xdr

    te = payment_tx(KEYS[0])
    te.sign(KEYS[0])
    v1 = te.to_xdr_object().v1
    assert v1 is not None
    tx = v1.tx
    v0 = stellar_xdr.TransactionEnvelope(
        stellar_xdr.EnvelopeType.ENVELOPE_TYPE_TX_V0,
        v0=stellar_xdr.TransactionV0Envelope(
            stellar_xdr.TransactionV0(tx.source_account.ed25519, tx.fee, tx.seq_num,
                                      tx.cond.time_bounds, tx.memo, tx.operations,
                                      stellar_xdr.TransactionV0Ext(0)),
            v1.signatures))
    parsed = parse_envelope(v0.to_xdr(), PASSPHRASE)
    assert parsed.hash == te.hash()  # v0 hashes like v1
    assert parsed.signatures == (Sig(bytes(te.signatures[0].signature_hint),
                                     bytes(te.signatures[0].signature)),)
    assert TransactionEnvelope.from_xdr(attach_signatures(parsed.unsigned_xdr,
                                                          list(parsed.signatures)),
                                        PASSPHRASE).hash() == te.hash()


# -- the shape read from the decoded XDR equals the one read through the SDK's objects --

MUXED = "MA7QYNF7SOWQ3GLR2BGMZEHXAVIRZA4KVWLTJJFC7MGXUA74P7UJUAAAAAAAAAABUTGI4"


def _operation(builder: TransactionBuilder, kind: str, source: str | None) -> None:
    dest = KEYS[3].public_key
    if kind == "payment":
        builder.append_payment_op(dest, Asset.native(), "1", source=source)
    elif kind == "bump":
        builder.append_bump_sequence_op(10, source=source)
    elif kind == "merge":
        builder.append_account_merge_op(dest, source=source)
    elif kind == "options-weight":
        builder.append_set_options_op(master_weight=2, source=source)
    elif kind == "options-domain":
        builder.append_set_options_op(home_domain="example.com", source=source)
    elif kind == "claim":
        builder.append_claim_claimable_balance_op("00" * 4 + "ab" * 32, source=source)
    elif kind == "trust":
        builder.append_set_trust_line_flags_op(dest, Asset("USD", KEYS[0].public_key),
                                               source=source)
    else:
        builder.append_manage_data_op("k", b"v", source=source)


@settings(max_examples=80, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["payment", "bump", "merge", "options-weight",
                                               "options-domain", "claim", "trust", "data"]),
                              st.sampled_from([None, 1, 2, "muxed"])), min_size=1, max_size=5),
       bounds=st.sampled_from(["none", "timeout", "min", "v2"]), source_muxed=st.booleans())
def test_shape_from_the_xdr_matches_the_sdk(ops: list[tuple[str, object]], bounds: str,
                                            source_muxed: bool) -> None:
    source = MUXED if source_muxed else KEYS[0].public_key
    builder = TransactionBuilder(Account(source, 41), PASSPHRASE, 100)
    for kind, who in ops:
        op_source = (None if who is None else MUXED if who == "muxed"
                     else KEYS[int(str(who))].public_key)
        _operation(builder, kind, op_source)
    if bounds == "timeout":
        builder.set_timeout(300)
    elif bounds == "min":
        builder.add_time_bounds(1000, 2000)
    elif bounds == "v2":
        builder.add_time_bounds(5, 0)
        builder.add_extra_signer(SignerKey.ed25519_public_key(KEYS[2].public_key))
    with warnings.catch_warnings():  # "none": no time bounds at all, which the SDK warns about
        warnings.simplefilter("ignore")
        te = builder.build()
    te.sign(KEYS[1])
    parsed = parse_envelope(te.to_xdr(), PASSPHRASE)
    assert parsed.envelope.to_xdr() == type(te).from_xdr(  # built lazily, signatures emptied
        parsed.unsigned_xdr, PASSPHRASE).to_xdr()
    sdk = TransactionEnvelope.from_xdr(te.to_xdr(), PASSPHRASE)
    assert parsed.shape == _shape(sdk, parsed.hash)
