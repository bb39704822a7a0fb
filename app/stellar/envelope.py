"""Parse a transaction envelope into the facts authorization depends on. Pure, no I/O.

For a fee-bump envelope the collected signatures are the outer ones (the fee account's). The inner
signatures are part of what the outer signatures sign, so they are frozen as received.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from enum import IntEnum

from stellar_sdk import (
    DecoratedSignature,
    FeeBumpTransactionEnvelope,
    MuxedAccount,
    SignerKey,
    StrKey,
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
    # The SDK's objects for the (unsigned) envelope: built on first use only, since converting the
    # decoded XDR into them costs as much as decoding it, and co-signing never needs them.
    source_xdr: stellar_xdr.TransactionEnvelope | None = None
    passphrase: str = ""
    _envelope: list[TransactionEnvelope | FeeBumpTransactionEnvelope] = field(
        default_factory=list, compare=False, repr=False)

    @property
    def envelope(self) -> TransactionEnvelope | FeeBumpTransactionEnvelope:
        if not self._envelope:
            assert self.source_xdr is not None
            try:
                built = (TransactionEnvelope.from_xdr_object(self.source_xdr, self.passphrase)
                         if self.source_xdr.type != stellar_xdr.EnvelopeType.ENVELOPE_TYPE_TX_FEE_BUMP
                         else FeeBumpTransactionEnvelope.from_xdr_object(self.source_xdr,
                                                                         self.passphrase))
            except Exception as exc:
                # The fast parse reads only what signing needs; the SDK also refuses values no
                # valid transaction has (a negative payment amount).
                raise InvalidEnvelope("Invalid transaction XDR") from exc
            built.signatures = []
            self._envelope.append(built)
        return self._envelope[0]

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


_XDR_LOW_OPERATIONS = frozenset({
    stellar_xdr.OperationType.ALLOW_TRUST, stellar_xdr.OperationType.SET_TRUST_LINE_FLAGS,
    stellar_xdr.OperationType.BUMP_SEQUENCE, stellar_xdr.OperationType.CLAIM_CLAIMABLE_BALANCE,
    stellar_xdr.OperationType.EXTEND_FOOTPRINT_TTL, stellar_xdr.OperationType.RESTORE_FOOTPRINT,
    stellar_xdr.OperationType.INFLATION})


def xdr_account(muxed: stellar_xdr.MuxedAccount) -> str:
    """The base G... account of a decoded (possibly muxed) account."""
    if muxed.ed25519 is not None:
        return StrKey.encode_ed25519_public_key(muxed.ed25519.uint256)
    assert muxed.med25519 is not None
    return StrKey.encode_ed25519_public_key(muxed.med25519.ed25519.uint256)


def xdr_operation_level(body: stellar_xdr.OperationBody) -> Level:
    """operation_level, read from the decoded XDR (kept equal by a test)."""
    kind = body.type
    if kind in _XDR_LOW_OPERATIONS:
        return Level.LOW
    if kind == stellar_xdr.OperationType.ACCOUNT_MERGE:
        return Level.HIGH
    if kind == stellar_xdr.OperationType.SET_OPTIONS:
        so = body.set_options_op
        assert so is not None
        if any(v is not None for v in (so.master_weight, so.low_threshold, so.med_threshold,
                                       so.high_threshold, so.signer)):
            return Level.HIGH
    return Level.MEDIUM


def _xdr_shape(tx: stellar_xdr.Transaction, tx_hash: bytes) -> TxShape:
    """_shape from the decoded XDR of a v1 transaction, without the SDK's objects."""
    source = xdr_account(tx.source_account)
    needs: dict[str, Level] = {source: Level.LOW}
    accounts: dict[bytes, str] = {}
    for op in tx.operations:
        if op.source_account is None:
            account = source
        else:
            key = op.source_account.to_xdr_bytes()
            account = accounts.get(key) or accounts.setdefault(key, xdr_account(op.source_account))
        needs[account] = max(needs.get(account, Level.LOW), xdr_operation_level(op.body))
    cond = tx.cond
    bounds: stellar_xdr.TimeBounds | None = None
    extra: tuple[str, ...] = ()
    if cond.type == stellar_xdr.PreconditionType.PRECOND_TIME:
        bounds = cond.time_bounds
    elif cond.type == stellar_xdr.PreconditionType.PRECOND_V2:
        assert cond.v2 is not None
        bounds = cond.v2.time_bounds
        extra = tuple(SignerKey.from_xdr_object(k).encoded_signer_key
                      for k in cond.v2.extra_signers)
    return TxShape(
        hash=tx_hash,
        source=source,
        sequence=tx.seq_num.sequence_number.int64,
        needs=needs,
        extra_signers=extra,
        min_time=bounds.min_time.time_point.uint64 if bounds else 0,
        max_time=bounds.max_time.time_point.uint64 if bounds else 0,
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
        if xdr_obj.type == stellar_xdr.EnvelopeType.ENVELOPE_TYPE_TX and xdr_obj.v1 is not None:
            fast = _parse_v1(raw, xdr_obj, xdr_obj.v1, passphrase)
            if fast is not None:
                return fast
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
        _envelope=[te],
    )


def _parse_v1(raw: bytes, xdr_obj: stellar_xdr.TransactionEnvelope,
              v1: stellar_xdr.TransactionV1Envelope, passphrase: str) -> ParsedEnvelope | None:
    """A v1 envelope read from its decoded XDR alone; None to take the SDK's way."""
    signatures = tuple(Sig(d.hint.signature_hint, d.signature.signature) for d in v1.signatures)
    body = body_without_signatures(raw, signatures)
    if body is None:
        return None
    tx_hash = envelope_hash(body, passphrase)
    if tx_hash is None:
        return None
    return ParsedEnvelope(
        hash=tx_hash,
        shape=_xdr_shape(v1.tx, tx_hash),
        inner=None,
        inner_signatures=(),
        signatures=signatures,
        unsigned_xdr=base64.b64encode(body + EMPTY_ARRAY).decode(),
        source_xdr=xdr_obj,
        passphrase=passphrase,
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
        _envelope=[fb],
    )


def attach_signatures(unsigned_xdr: str, sigs: list[Sig]) -> str:
    """The stored envelope with ``sigs`` as its (outer) signature list (at most 20)."""
    raw = base64.b64decode(unsigned_xdr)
    if not raw.endswith(EMPTY_ARRAY):
        raise ValueError("not an envelope with an empty signature list")
    return base64.b64encode(raw[:-4] + pack_signatures(sigs[:MAX_SIGNATURES])).decode()
