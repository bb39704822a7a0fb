"""Admission checks in the order stellar-core runs them (TransactionFrame::checkValid,
commonValidPreSeqNum, commonValid, FeeBumpTransactionFrame::checkValid). The first failing
check decides the result code, so the order here is part of the contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from stellar_sdk import xdr

from .codes import threshold_level
from .envelope import FeeBumpFrame, TxFrame
from .model import Account
from .ops import available, check_op, is_supported
from .results import op_result
from .sigcheck import ED25519, SIGNED_PAYLOAD, SignatureChecker, SignerSpec, decode_signer_key

_SOROBAN_OPS = frozenset(
    {
        xdr.OperationType.INVOKE_HOST_FUNCTION,
        xdr.OperationType.EXTEND_FOOTPRINT_TTL,
        xdr.OperationType.RESTORE_FOOTPRINT,
    }
)


class View(Protocol):
    """The ledger as the next ledger will see it: its sequence and close time."""

    ledger_seq: int
    close_time: int
    base_fee: int
    base_reserve: int

    def get(self, account_id: str) -> Account | None: ...


@dataclass
class Verdict:
    code: str
    fee_charged: int
    op_results: list[xdr.OperationResult] | None = None
    inner: Verdict | None = None

    @property
    def ok(self) -> bool:
        return self.code in ("txSUCCESS", "txFEE_BUMP_INNER_SUCCESS")


def _malformed_shape(frame: TxFrame) -> str | None:
    extra = frame.extra_signers
    if len(extra) == 2 and extra[0].to_xdr_bytes() == extra[1].to_xdr_bytes():
        return "txMALFORMED"
    for key in extra:
        payload = key.ed25519_signed_payload
        if key.type.value == SIGNED_PAYLOAD and payload is not None and not payload.payload:
            return "txMALFORMED"
    if not frame.tx.operations:
        return "txMISSING_OPERATION"
    kinds = [op.body.type in _SOROBAN_OPS for op in frame.tx.operations]
    if any(kinds) and (not all(kinds) or len(kinds) != 1):
        return "txMALFORMED"
    # Soroban transactions must carry SorobanTransactionData, classic ones must not.
    if frame.tx.ext.v != (1 if frame.is_soroban else 0):
        return "txMALFORMED"
    return None


def _too_early_or_late(frame: TxFrame, view: View) -> str | None:
    # isTooEarly/isTooLate: time bounds against the close time, ledger bounds against the
    # ledger being closed (the next one when admitting), maxLedger exclusive, 0 = no bound.
    tb, lb = frame.time_bounds, frame.ledger_bounds
    if (tb and tb[0] and tb[0] > view.close_time) or (lb and lb[0] > view.ledger_seq):
        return "txTOO_EARLY"
    if (tb and tb[1] and tb[1] < view.close_time) or (lb and lb[1] and lb[1] <= view.ledger_seq):
        return "txTOO_LATE"
    return None


INT64_MAX = 2**63 - 1


def _bad_seq(frame: TxFrame, acc: Account, view: View) -> bool:
    # TransactionFrame::isBadSeq: never the starting sequence of the ledger being closed;
    # with minSeqNum any account sequence in [minSeqNum, tx.seq) will do, else exactly tx.seq-1.
    if frame.seq == view.ledger_seq << 32:
        return True
    min_seq = frame.min_seq_num
    if min_seq is not None:
        return acc.seq_num < min_seq or acc.seq_num >= frame.seq
    return acc.seq_num == INT64_MAX or acc.seq_num + 1 != frame.seq


def _too_early_for_account(frame: TxFrame, acc: Account, view: View) -> bool:
    # isTooEarlyForAccount: minSeqAge against the account's seqTime, minSeqLedgerGap against
    # its seqLedger (both 0 for an account without AccountEntryExtensionV3).
    age, gap = frame.min_seq_age, frame.min_seq_ledger_gap
    if age > view.close_time or view.close_time - age < acc.seq_time:
        return True
    return gap > view.ledger_seq or view.ledger_seq - gap < acc.seq_ledger


def _extra_signers_ok(frame: TxFrame, checker: SignatureChecker) -> bool:
    extra = frame.extra_signers
    if not extra:
        return True
    specs = []
    for key in extra:
        kind = key.type.value
        raw = key.ed25519 or key.pre_auth_tx or key.hash_x
        payload = b""
        if key.ed25519_signed_payload is not None:
            raw = key.ed25519_signed_payload.ed25519
            payload = key.ed25519_signed_payload.payload
        assert raw is not None
        specs.append(SignerSpec(kind, raw.uint256, payload, 1))
    # core: weight 1 per extra signer, needed weight = their count, so each needs a signature
    return checker.check(specs, len(specs))


def check_tx(frame: TxFrame, view: View, charge_fee: bool = True) -> Verdict:
    """Validate a v1 transaction; with charge_fee=False it is the inner tx of a fee bump."""
    ops = frame.tx.operations
    fee = view.base_fee * max(1, len(ops)) + frame.resource_fee

    shape = _malformed_shape(frame) or _too_early_or_late(frame, view)
    if shape:
        return Verdict(shape, fee)
    min_fee = view.base_fee * max(1, len(ops))
    if (charge_fee and frame.inclusion_fee < min_fee) or frame.inclusion_fee < 0:
        return Verdict("txINSUFFICIENT_FEE", fee)
    source = view.get(frame.source)
    if source is None:
        return Verdict("txNO_ACCOUNT", fee)
    if _bad_seq(frame, source, view):
        return Verdict("txBAD_SEQ", fee)
    if _too_early_for_account(frame, source, view):
        return Verdict("txBAD_MIN_SEQ_AGE_OR_GAP", fee)

    checker = SignatureChecker(frame.hash, frame.signatures)
    if not checker.check(source.signer_specs(), source.low):
        return Verdict("txBAD_AUTH", fee)
    if not _extra_signers_ok(frame, checker):
        return Verdict("txBAD_AUTH", fee)
    if charge_fee and available(source, view.base_reserve) < frame.fee:
        return Verdict("txINSUFFICIENT_BALANCE", fee)

    results = [op_result(op) for op in ops]
    for index, op in enumerate(ops):
        code = _check_operation(frame, index, view, checker)
        if code is not None:
            results[index] = op_result(op, code)
            return Verdict("txFAILED", fee, results)
    if not checker.all_used():
        return Verdict("txBAD_AUTH_EXTRA", fee)
    return Verdict("txSUCCESS", fee, results)


def _check_operation(frame: TxFrame, index: int, view: View, checker: SignatureChecker) -> str | None:
    op = frame.tx.operations[index]
    if not is_supported(op):
        return "opNOT_SUPPORTED"
    source_id = frame.op_sources[index]
    account = view.get(source_id)
    if account is not None:
        needed = account.thresholds[threshold_level(op)]
        if not checker.check(account.signer_specs(), needed):
            return "opBAD_AUTH"
    elif not frame.explicit_op_source[index]:
        return "opNO_ACCOUNT"
    else:
        # The account may be created earlier in this very transaction; core then only asks
        # for a signature of the key itself (checkSignatureNoAccount, needed weight 0).
        key = SignerSpec(ED25519, decode_signer_key(source_id)[1], b"", 1)
        if not checker.check([key], 0):
            return "opBAD_AUTH"
    return check_op(op, source_id)


def check_fee_bump(fb: FeeBumpFrame, view: View) -> Verdict:
    inner = fb.inner
    n_ops = len(inner.tx.operations)
    outer_min = view.base_fee * (n_ops + 1)
    inner_min = view.base_fee * max(1, n_ops)
    fee = outer_min + inner.resource_fee

    if fb.inclusion_fee < outer_min:
        return Verdict("txINSUFFICIENT_FEE", fee)
    inner_incl = inner.inclusion_fee
    # The bid per operation must not drop below the inner transaction's own bid.
    if inner_incl >= 0 and fb.inclusion_fee * inner_min < inner_incl * outer_min:
        needed = -(-inner_incl * outer_min // inner_min)
        return Verdict("txINSUFFICIENT_FEE", needed)
    fee_source = view.get(fb.fee_source)
    if fee_source is None:
        return Verdict("txNO_ACCOUNT", fee)
    checker = SignatureChecker(fb.hash, fb.signatures)
    if not checker.check(fee_source.signer_specs(), fee_source.low):
        return Verdict("txBAD_AUTH", fee)
    if available(fee_source, view.base_reserve) < fb.fee:
        return Verdict("txINSUFFICIENT_BALANCE", fee)
    if not checker.all_used():
        return Verdict("txBAD_AUTH_EXTRA", fee)
    inner_verdict = check_tx(inner, view, charge_fee=False)
    if not inner_verdict.ok:
        return Verdict("txFEE_BUMP_INNER_FAILED", fee, inner=inner_verdict)
    return Verdict("txFEE_BUMP_INNER_SUCCESS", fee, inner=inner_verdict)
