"""Parse a transaction envelope into the facts authorization depends on. Pure, no I/O.

For a fee-bump envelope the collected signatures are the outer ones (the fee account's). The inner
signatures are part of what the outer signatures sign, so they are frozen as received.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import IntEnum

from stellar_sdk import (
    DecoratedSignature,
    FeeBumpTransactionEnvelope,
    MuxedAccount,
    TransactionEnvelope,
)
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.operation import (
    AccountMerge,
    AllowTrust,
    BumpSequence,
    ClaimClaimableBalance,
    ExtendFootprintTTL,
    Inflation,
    Operation,
    RestoreFootprint,
    SetOptions,
    SetTrustLineFlags,
)

from app.stellar.xdrbytes import (
    EMPTY_ARRAY,
    body_without_signatures,
    envelope_hash,
    pack_signatures,
)

MAX_SIGNATURES = 20  # DecoratedSignature signatures<20> in the XDR


class Level(IntEnum):
    LOW = 0
    MEDIUM = 1
    HIGH = 2


class InvalidEnvelope(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Sig:
    hint: bytes
    signature: bytes


@dataclass(frozen=True, slots=True)
class TxShape:
    """One transaction's authorization facts: which account needs which threshold level."""

    hash: bytes
    source: str
    sequence: int
    needs: dict[str, Level]  # account -> highest level, tx source first, then op order
    extra_signers: tuple[str, ...]
    min_time: int
    max_time: int


@dataclass(frozen=True, slots=True)
class ParsedEnvelope:
    hash: bytes
    shape: TxShape  # the transaction whose signatures are collected (the fee bump for a fee bump)
    inner: TxShape | None  # a fee bump's inner transaction
    inner_signatures: tuple[Sig, ...]
    signatures: tuple[Sig, ...]
    unsigned_xdr: str  # the envelope with the collected signature list emptied
    envelope: TransactionEnvelope | FeeBumpTransactionEnvelope

    @property
    def hash_hex(self) -> str:
        return self.hash.hex()

    @property
    def is_fee_bump(self) -> bool:
        return self.inner is not None

    @property
    def min_time(self) -> int:
        return (self.inner or self.shape).min_time

    @property
    def max_time(self) -> int:
        return (self.inner or self.shape).max_time


def base_account(muxed: MuxedAccount) -> str:
    """M... accounts authorize as their base G... account."""
    return str(muxed.account_id)


# stellar-core's getThresholdLevel overrides (src/transactions/*OpFrame.cpp); every other operation
# keeps OperationFrame's default, MEDIUM. The footprint operations are LOW in core although some
# documentation lists them as medium: core decides what the network accepts.
_LOW_OPERATIONS = (AllowTrust, SetTrustLineFlags, BumpSequence, ClaimClaimableBalance,
                   ExtendFootprintTTL, RestoreFootprint, Inflation)


def operation_level(op: Operation) -> Level:
    if isinstance(op, _LOW_OPERATIONS):
        return Level.LOW
    if isinstance(op, AccountMerge):
        return Level.HIGH
    if isinstance(op, SetOptions) and any(
        v is not None
        for v in (op.master_weight, op.low_threshold, op.med_threshold, op.high_threshold, op.signer)
    ):
        return Level.HIGH
    return Level.MEDIUM


def _shape(te: TransactionEnvelope, tx_hash: bytes | None = None) -> TxShape:
    tx = te.transaction
    source = base_account(tx.source)
    needs: dict[str, Level] = {source: Level.LOW}
    for op in tx.operations:
        account = base_account(op.source) if op.source is not None else source
        needs[account] = max(needs.get(account, Level.LOW), operation_level(op))
    pre = tx.preconditions
    bounds = pre.time_bounds if pre is not None else None
    extra = tuple(s.encoded_signer_key for s in (pre.extra_signers if pre is not None else []))
    return TxShape(
        hash=tx_hash if tx_hash is not None else te.hash(),
        source=source,
        sequence=tx.sequence,
        needs=needs,
        extra_signers=extra,
        min_time=bounds.min_time if bounds else 0,
        max_time=bounds.max_time if bounds else 0,
    )


def _sigs(decorated: list[DecoratedSignature]) -> tuple[Sig, ...]:
    return tuple(Sig(bytes(d.signature_hint), bytes(d.signature)) for d in decorated)


def parse_envelope(xdr_b64: str, passphrase: str) -> ParsedEnvelope:
    """Parse a base64 TransactionEnvelope (v0, v1 or fee bump); raise InvalidEnvelope."""
    try:
        raw = base64.b64decode(xdr_b64, validate=True)
        xdr_obj = stellar_xdr.TransactionEnvelope.from_xdr_bytes(raw)
    except (binascii.Error, ValueError, TypeError, IndexError, AssertionError) as exc:
        raise InvalidEnvelope("Invalid transaction XDR") from exc
    except Exception as exc:  # the XDR decoder raises assorted errors on garbage
        raise InvalidEnvelope("Invalid transaction XDR") from exc
    try:
        if xdr_obj.type == stellar_xdr.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP:
            return _parse_fee_bump(raw, xdr_obj, passphrase)
        te = TransactionEnvelope.from_xdr_object(xdr_obj, passphrase)
    except InvalidEnvelope:
        raise
    except Exception as exc:
        raise InvalidEnvelope("Invalid transaction XDR") from exc
    signatures = _sigs(te.signatures)
    body = body_without_signatures(raw, signatures)
    tx_hash = envelope_hash(body, passphrase) if body is not None else None
    te.signatures = []
    if body is None or tx_hash is None:  # v0 envelopes hash as v1: let the SDK convert
        tx_hash, unsigned = te.hash(), te.to_xdr()
    else:
        unsigned = base64.b64encode(body + EMPTY_ARRAY).decode()
    return ParsedEnvelope(
        hash=tx_hash,
        shape=_shape(te, tx_hash),
        inner=None,
        inner_signatures=(),
        signatures=signatures,
        unsigned_xdr=unsigned,
        envelope=te,
    )


def _parse_fee_bump(raw: bytes, xdr_obj: stellar_xdr.TransactionEnvelope,
                    passphrase: str) -> ParsedEnvelope:
    fb = FeeBumpTransactionEnvelope.from_xdr_object(xdr_obj, passphrase)
    inner_te = fb.transaction.inner_transaction_envelope
    inner = _shape(inner_te)
    signatures = _sigs(fb.signatures)
    body = body_without_signatures(raw, signatures)
    fb.signatures = []
    fee_source = base_account(fb.transaction.fee_source)
    fee_hash = (envelope_hash(body, passphrase) if body is not None else None) or fb.hash()
    shape = TxShape(
        hash=fee_hash,
        source=fee_source,
        sequence=inner.sequence,
        needs={fee_source: Level.LOW},
        extra_signers=(),
        min_time=inner.min_time,
        max_time=inner.max_time,
    )
    return ParsedEnvelope(
        hash=fee_hash,
        shape=shape,
        inner=inner,
        inner_signatures=_sigs(inner_te.signatures),
        signatures=signatures,
        unsigned_xdr=base64.b64encode(body + EMPTY_ARRAY).decode() if body else fb.to_xdr(),
        envelope=fb,
    )


def attach_signatures(unsigned_xdr: str, sigs: list[Sig]) -> str:
    """The stored envelope with ``sigs`` as its (outer) signature list (at most 20)."""
    raw = base64.b64decode(unsigned_xdr)
    if not raw.endswith(EMPTY_ARRAY):
        raise ValueError("not an envelope with an empty signature list")
    return base64.b64encode(raw[:-4] + pack_signatures(sigs[:MAX_SIGNATURES])).decode()
