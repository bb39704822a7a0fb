"""A new record's summary read from the decoded XDR equals the one read from the SDK's objects:
the same summary, or the same refusal, for any v1 envelope (valid or not)."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stellar_sdk import Keypair
from stellar_sdk import xdr as x

from app.stellar.envelope import InvalidEnvelope, parse_envelope
from app.stellar.summary import summarize, summarize_parsed
from tests.builders import PASSPHRASE, payment_tx, signed

keys = st.binary(min_size=32, max_size=32)
uint64 = st.integers(0, 2**64 - 1)


@st.composite
def accounts(draw: st.DrawFn) -> x.MuxedAccount:
    key = x.Uint256(draw(keys))
    if draw(st.booleans()):
        return x.MuxedAccount(x.CryptoKeyType.KEY_TYPE_ED25519, ed25519=key)
    return x.MuxedAccount(
        x.CryptoKeyType.KEY_TYPE_MUXED_ED25519, med25519=x.MuxedAccountMed25519(x.Uint64(draw(uint64)), key)
    )


@st.composite
def assets(draw: st.DrawFn) -> x.Asset:
    kind = draw(st.sampled_from(["native", "4", "12"]))
    if kind == "native":
        return x.Asset(x.AssetType.ASSET_TYPE_NATIVE)
    # Mostly valid codes, sometimes any bytes (an invalid code the SDK refuses).
    size = 4 if kind == "4" else 12
    code = draw(
        st.one_of(
            st.text("ABCXYZ0123456789ab", min_size=1 if kind == "4" else 5, max_size=size).map(
                lambda t: t.encode().ljust(size, b"\0")
            ),
            st.binary(min_size=size, max_size=size),
        )
    )
    issuer = x.AccountID(x.PublicKey(x.PublicKeyType.PUBLIC_KEY_TYPE_ED25519, x.Uint256(draw(keys))))
    if kind == "4":
        return x.Asset(
            x.AssetType.ASSET_TYPE_CREDIT_ALPHANUM4, alpha_num4=x.AlphaNum4(x.AssetCode4(code), issuer)
        )
    return x.Asset(
        x.AssetType.ASSET_TYPE_CREDIT_ALPHANUM12, alpha_num12=x.AlphaNum12(x.AssetCode12(code), issuer)
    )


@st.composite
def operations(draw: st.DrawFn) -> x.Operation:
    source = draw(st.none() | accounts())
    if draw(st.integers(0, 5)) == 0:  # another kind: the SDK's objects decide
        body = x.OperationBody(
            x.OperationType.BUMP_SEQUENCE,
            bump_sequence_op=x.BumpSequenceOp(x.SequenceNumber(x.Int64(draw(st.integers(0, 2**63 - 1))))),
        )
        return x.Operation(source, body)
    amount = draw(st.one_of(st.integers(1, 10**12), st.integers(-(2**63), 2**63 - 1)))
    body = x.OperationBody(
        x.OperationType.PAYMENT, payment_op=x.PaymentOp(draw(accounts()), draw(assets()), x.Int64(amount))
    )
    return x.Operation(source, body)


@st.composite
def memos(draw: st.DrawFn) -> x.Memo:
    kind = draw(st.sampled_from(["none", "text", "id", "hash", "return"]))
    if kind == "text":
        return x.Memo(x.MemoType.MEMO_TEXT, text=draw(st.binary(max_size=28)))
    if kind == "id":
        return x.Memo(x.MemoType.MEMO_ID, id=x.Uint64(draw(uint64)))
    if kind == "hash":
        return x.Memo(x.MemoType.MEMO_HASH, hash=x.Hash(draw(keys)))
    if kind == "return":
        return x.Memo(x.MemoType.MEMO_RETURN, ret_hash=x.Hash(draw(keys)))
    return x.Memo(x.MemoType.MEMO_NONE)


@st.composite
def conditions(draw: st.DrawFn) -> x.Preconditions:
    kind = draw(st.sampled_from(["none", "time", "v2"]))
    bounds = x.TimeBounds(
        x.TimePoint(x.Uint64(draw(st.sampled_from([0, 5]) | uint64))),
        x.TimePoint(x.Uint64(draw(st.sampled_from([0, 5]) | uint64))),
    )
    if kind == "time":
        return x.Preconditions(x.PreconditionType.PRECOND_TIME, time_bounds=bounds)
    if kind == "v2":
        return x.Preconditions(
            x.PreconditionType.PRECOND_V2,
            v2=x.PreconditionsV2(bounds, None, None, x.Duration(x.Uint64(0)), x.Uint32(0), []),
        )
    return x.Preconditions(x.PreconditionType.PRECOND_NONE)


@st.composite
def envelopes(draw: st.DrawFn) -> str:
    tx = x.Transaction(
        draw(accounts()),
        x.Uint32(draw(st.integers(0, 2**32 - 1))),
        x.SequenceNumber(x.Int64(draw(st.integers(0, 2**63 - 1)))),
        draw(conditions()),
        draw(memos()),
        draw(st.lists(operations(), min_size=1, max_size=4)),
        x.TransactionExt(0),
    )
    envelope = x.TransactionEnvelope(x.EnvelopeType.ENVELOPE_TYPE_TX, v1=x.TransactionV1Envelope(tx, []))
    return base64.b64encode(envelope.to_xdr_bytes()).decode()


def _outcome(summary: object) -> object:
    try:
        return summary() if callable(summary) else summary
    except InvalidEnvelope:
        return "refused"


@settings(max_examples=400, deadline=None)
@given(envelopes())
def test_the_summary_from_the_xdr_equals_the_sdks(xdr: str) -> None:
    fast = _outcome(lambda: summarize_parsed(parse_envelope(xdr, PASSPHRASE)))
    sdk = _outcome(lambda: summarize(parse_envelope(xdr, PASSPHRASE).envelope))
    assert fast == sdk


def test_a_payment_is_summarized_without_the_sdks_objects() -> None:
    source = Keypair.random()
    parsed = parse_envelope(signed(payment_tx(source), source), PASSPHRASE)
    summary = summarize_parsed(parsed)
    assert not parsed._envelope  # the SDK's objects were never built
    assert summary == summarize(parsed.envelope)
    assert summary["operations"][0]["description"].startswith("Pay ")


def test_a_refused_payment_is_refused_either_way() -> None:
    source = Keypair.random()
    te = payment_tx(source).to_xdr_object()
    assert te.v1 is not None
    te.v1.tx.operations[0].body.payment_op.amount = x.Int64(-1)  # type: ignore[union-attr]
    xdr = base64.b64encode(te.to_xdr_bytes()).decode()
    with pytest.raises(InvalidEnvelope):
        summarize_parsed(parse_envelope(xdr, PASSPHRASE))
