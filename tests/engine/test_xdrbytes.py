"""The byte-level envelope shortcuts agree with stellar-sdk's full encode/decode, for every shape."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from stellar_sdk import Keypair, TransactionEnvelope

from app.stellar.envelope import Sig, attach_signatures, parse_envelope
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
