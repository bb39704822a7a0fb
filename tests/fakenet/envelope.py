"""Decoding envelopes into the few facts validation needs, the way stellar-core frames them."""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass, field

from stellar_sdk import StrKey, xdr

MAX_SIGNATURES = 20

_TX_TAG = struct.pack(">i", xdr.EnvelopeType.ENVELOPE_TYPE_TX.value)
_FEE_BUMP_TAG = struct.pack(">i", xdr.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP.value)
_SOROBAN_OPS = frozenset(
    {
        xdr.OperationType.INVOKE_HOST_FUNCTION,
        xdr.OperationType.EXTEND_FOOTPRINT_TTL,
        xdr.OperationType.RESTORE_FOOTPRINT,
    }
)


class MalformedEnvelope(ValueError):
    """The bytes are not a TransactionEnvelope core would decode."""


def network_id(passphrase: str) -> bytes:
    return hashlib.sha256(passphrase.encode()).digest()


def account_of(muxed: xdr.MuxedAccount) -> str:
    """G... of a (possibly muxed M...) account: the ledger only knows the base account."""
    if muxed.ed25519 is not None:
        return StrKey.encode_ed25519_public_key(muxed.ed25519.uint256)
    assert muxed.med25519 is not None
    return StrKey.encode_ed25519_public_key(muxed.med25519.ed25519.uint256)


@dataclass
class TxFrame:
    """A v1 transaction (v0 envelopes are converted, like core's txbridge) with its signatures."""

    tx: xdr.Transaction
    signatures: list[xdr.DecoratedSignature]
    hash: bytes
    source: str
    op_sources: list[str] = field(default_factory=list)
    explicit_op_source: list[bool] = field(default_factory=list)

    @property
    def fee(self) -> int:
        return int(self.tx.fee.uint32)

    @property
    def seq(self) -> int:
        return int(self.tx.seq_num.sequence_number.int64)

    @property
    def ops(self) -> list[xdr.Operation]:
        return list(self.tx.operations)

    @property
    def is_soroban(self) -> bool:
        return bool(self.tx.operations) and self.tx.operations[0].body.type in _SOROBAN_OPS

    @property
    def resource_fee(self) -> int:
        data = self.tx.ext.soroban_data
        return int(data.resource_fee.int64) if self.tx.ext.v == 1 and data is not None else 0

    @property
    def inclusion_fee(self) -> int:
        return self.fee - self.resource_fee if self.is_soroban else self.fee

    @property
    def v2(self) -> xdr.PreconditionsV2 | None:
        cond = self.tx.cond
        return cond.v2 if cond.type == xdr.PreconditionType.PRECOND_V2 else None

    @property
    def time_bounds(self) -> tuple[int, int] | None:
        cond = self.tx.cond
        tb = cond.time_bounds if cond.type == xdr.PreconditionType.PRECOND_TIME else None
        if self.v2 is not None:
            tb = self.v2.time_bounds
        if tb is None:
            return None
        return int(tb.min_time.time_point.uint64), int(tb.max_time.time_point.uint64)

    @property
    def ledger_bounds(self) -> tuple[int, int] | None:
        lb = self.v2.ledger_bounds if self.v2 is not None else None
        return None if lb is None else (int(lb.min_ledger.uint32), int(lb.max_ledger.uint32))

    @property
    def min_seq_num(self) -> int | None:
        msn = self.v2.min_seq_num if self.v2 is not None else None
        return None if msn is None else int(msn.sequence_number.int64)

    @property
    def min_seq_age(self) -> int:
        return int(self.v2.min_seq_age.duration.uint64) if self.v2 is not None else 0

    @property
    def min_seq_ledger_gap(self) -> int:
        return int(self.v2.min_seq_ledger_gap.uint32) if self.v2 is not None else 0

    @property
    def extra_signers(self) -> list[xdr.SignerKey]:
        return list(self.v2.extra_signers) if self.v2 is not None else []

    @property
    def source_accounts(self) -> set[str]:
        return {self.source, *self.op_sources}


@dataclass
class FeeBumpFrame:
    fee_bump: xdr.FeeBumpTransaction
    signatures: list[xdr.DecoratedSignature]
    hash: bytes
    fee_source: str
    inner: TxFrame

    @property
    def fee(self) -> int:
        return int(self.fee_bump.fee.int64)

    @property
    def inclusion_fee(self) -> int:
        return self.fee - self.inner.resource_fee if self.inner.is_soroban else self.fee


@dataclass
class Parsed:
    envelope: xdr.TransactionEnvelope
    frame: TxFrame | FeeBumpFrame

    @property
    def hash(self) -> bytes:
        return self.frame.hash

    @property
    def inner(self) -> TxFrame:
        return self.frame.inner if isinstance(self.frame, FeeBumpFrame) else self.frame


def _tx_frame(tx: xdr.Transaction, sigs: list[xdr.DecoratedSignature], net: bytes) -> TxFrame:
    if len(sigs) > MAX_SIGNATURES:
        raise MalformedEnvelope("more than 20 signatures")
    digest = hashlib.sha256(net + _TX_TAG + tx.to_xdr_bytes()).digest()
    source = account_of(tx.source_account)
    frame = TxFrame(tx=tx, signatures=sigs, hash=digest, source=source)
    for op in tx.operations:
        frame.explicit_op_source.append(op.source_account is not None)
        frame.op_sources.append(source if op.source_account is None else account_of(op.source_account))
    return frame


def _v0_to_v1(v0: xdr.TransactionV0) -> xdr.Transaction:
    # A v1 Transaction with an ed25519 MuxedAccount serialises exactly as the v0 body with a
    # zero discriminant in front (the optional timeBounds matches PRECOND_NONE/PRECOND_TIME),
    # which is also why both forms hash identically.
    return xdr.Transaction.from_xdr_bytes(b"\0\0\0\0" + v0.to_xdr_bytes())


def parse(envelope_b64: str, net: bytes) -> Parsed:
    try:
        raw = base64.b64decode(envelope_b64.strip(), validate=True)
        env = xdr.TransactionEnvelope.from_xdr_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise MalformedEnvelope(str(exc)) from exc
    except Exception as exc:  # xdrlib3 raises assorted error types on truncated input
        raise MalformedEnvelope(f"{type(exc).__name__}: {exc}") from exc
    kind = env.type
    if kind == xdr.EnvelopeType.ENVELOPE_TYPE_TX_V0:
        assert env.v0 is not None
        frame: TxFrame | FeeBumpFrame = _tx_frame(_v0_to_v1(env.v0.tx), list(env.v0.signatures), net)
    elif kind == xdr.EnvelopeType.ENVELOPE_TYPE_TX:
        assert env.v1 is not None
        frame = _tx_frame(env.v1.tx, list(env.v1.signatures), net)
    elif kind == xdr.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
        assert env.fee_bump is not None
        fb = env.fee_bump.tx
        sigs = list(env.fee_bump.signatures)
        if len(sigs) > MAX_SIGNATURES:
            raise MalformedEnvelope("more than 20 signatures")
        inner_env = fb.inner_tx.v1
        assert inner_env is not None
        inner = _tx_frame(inner_env.tx, list(inner_env.signatures), net)
        digest = hashlib.sha256(net + _FEE_BUMP_TAG + fb.to_xdr_bytes()).digest()
        frame = FeeBumpFrame(fb, sigs, digest, account_of(fb.fee_source), inner)
    else:
        raise MalformedEnvelope(f"not a transaction envelope: {kind}")
    return Parsed(env, frame)
