"""Applying an admitted envelope: fees, sequence numbers, one-time signers, operations, and
the ApplyResult that describes the outcome."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from stellar_sdk import StrKey

from . import codes
from .envelope import FeeBumpFrame, Parsed, TxFrame
from .model import Account, ApplyResult
from .ops import apply_op
from .results import fee_bump_result, op_result, tx_meta, tx_result
from .validate import Verdict


class Work:
    """Pending account changes on top of the committed map (a LedgerTxn in core terms)."""

    def __init__(
        self,
        base: dict[str, Account],
        ledger_seq: int,
        close_time: int,
        base_fee: int,
        base_reserve: int,
    ) -> None:
        self.base = base
        self.changes: dict[str, Account | None] = {}
        self.ledger_seq = ledger_seq
        self.close_time = close_time
        self.base_fee = base_fee
        self.base_reserve = base_reserve

    def get(self, account_id: str) -> Account | None:
        if account_id in self.changes:
            return self.changes[account_id]
        return self.base.get(account_id)

    def put(self, account: Account) -> None:
        self.changes[account.account_id] = dataclasses.replace(account, last_modified=self.ledger_seq)

    def delete(self, account_id: str) -> None:
        self.changes[account_id] = None

    def commit(self) -> None:
        for key, value in self.changes.items():
            if value is None:
                self.base.pop(key, None)
            else:
                self.base[key] = value
        self.changes.clear()


def apply_parsed(work: Work, parsed: Parsed, envelope_xdr: str) -> ApplyResult:
    """Apply an admitted envelope in the ledger `work` stands for, and commit it."""
    frame = parsed.frame
    if isinstance(frame, FeeBumpFrame):
        n_ops = len(frame.inner.tx.operations)
        charged = _charge(work, frame.fee_source, frame.inclusion_fee, n_ops + 1, frame.inner)
        _remove_pre_auth(work, [frame.fee_source], frame.hash)
        inner_code, ops = _apply_tx(work, frame.inner)
        code = "txFEE_BUMP_INNER_SUCCESS" if inner_code == "txSUCCESS" else "txFEE_BUMP_INNER_FAILED"
        verdict = Verdict(code, charged, inner=Verdict(inner_code, 0, ops))
    else:
        charged = _charge(work, frame.source, frame.inclusion_fee, len(frame.tx.operations), frame)
        inner_code, ops = _apply_tx(work, frame)
        verdict = Verdict(inner_code, charged, ops)
    work.commit()
    result = describe(parsed, verdict, envelope_xdr, "applied")
    result.ledger = work.ledger_seq
    result.created_at = work.close_time
    n_ops = len(parsed.inner.tx.operations)
    result.result_meta_xdr = tx_meta(n_ops if result.successful else 0).to_xdr()
    return result


def _charge(work: Work, payer: str, inclusion: int, ops: int, frame: TxFrame) -> int:
    account = work.get(payer)
    assert account is not None
    # Without surge pricing core charges the minimum, not the bid (getFee while applying).
    fee = min(account.balance, min(inclusion, work.base_fee * max(1, ops)) + frame.resource_fee)
    work.put(dataclasses.replace(account, balance=account.balance - fee))
    return fee


def _apply_tx(work: Work, frame: TxFrame) -> tuple[str, list[Any]]:
    source = work.get(frame.source)
    assert source is not None
    # The sequence number is consumed and one-time signers go even if an operation fails.
    work.put(
        dataclasses.replace(source, seq_num=frame.seq, seq_ledger=work.ledger_seq, seq_time=work.close_time)
    )
    _remove_pre_auth(work, sorted(frame.source_accounts), frame.hash)
    work.commit()
    ops_work = Work(work.base, work.ledger_seq, work.close_time, work.base_fee, work.base_reserve)
    results = []
    ok = True
    for op, op_source in zip(frame.tx.operations, frame.op_sources, strict=True):
        if ops_work.get(op_source) is None:
            results.append(op_result(op, "opNO_ACCOUNT"))
            ok = False
            continue
        code, extra = apply_op(ops_work, op, op_source)
        results.append(op_result(op, code, extra))
        ok = ok and code is None
    if ok:
        ops_work.commit()
    return ("txSUCCESS" if ok else "txFAILED"), results


def describe(parsed: Parsed, verdict: Verdict, envelope_xdr: str, status: str) -> ApplyResult:
    frame = parsed.frame
    fee_bump = isinstance(frame, FeeBumpFrame)
    inner = verdict.inner
    op_results = (inner.op_results if inner else verdict.op_results) or []
    if fee_bump:
        assert isinstance(frame, FeeBumpFrame)
        result_xdr = fee_bump_result(
            verdict.code,
            verdict.fee_charged,
            frame.inner.hash if inner else None,
            inner.code if inner else None,
            inner.op_results if inner else None,
        )
    else:
        result_xdr = tx_result(verdict.code, verdict.fee_charged, verdict.op_results)
    tx = parsed.inner
    return ApplyResult(
        status=status,
        code=verdict.code,
        hash=parsed.hash.hex(),
        inner_hash=frame.inner.hash.hex() if isinstance(frame, FeeBumpFrame) else None,
        fee_bump=fee_bump,
        successful=verdict.ok,
        inner_code=inner.code if inner else None,
        op_codes=[codes.horizon_op_code(r) for r in op_results],
        op_results=[codes.inner_code_name(r) for r in op_results],
        result_xdr=result_xdr.to_xdr(),
        envelope_xdr=envelope_xdr,
        fee_charged=verdict.fee_charged,
        source_account=tx.source,
        fee_account=frame.fee_source if isinstance(frame, FeeBumpFrame) else tx.source,
        max_fee=frame.fee,
        operation_count=len(tx.tx.operations),
        sequence=tx.seq,
    )


def _remove_pre_auth(work: Work, account_ids: Sequence[str], tx_hash: bytes) -> None:
    key = StrKey.encode_pre_auth_tx(tx_hash)
    for account_id in account_ids:
        account = work.get(account_id)
        if account is not None and any(s.key == key for s in account.signers):
            kept = tuple(s for s in account.signers if s.key != key)
            work.put(dataclasses.replace(account, signers=kept))


def malformed_result(envelope_xdr: str) -> ApplyResult:
    return ApplyResult(
        status="malformed",
        code="txMALFORMED",
        result_xdr=tx_result("txMALFORMED", 0).to_xdr(),
        envelope_xdr=envelope_xdr,
    )
