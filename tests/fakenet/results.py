"""Builders for the XDR the network hands back: results, meta, ledger headers, account entries."""

from __future__ import annotations

import hashlib
from typing import Any

from stellar_sdk import Keypair, xdr
from stellar_sdk.signer_key import SignerKey

from .envelope import account_of
from .model import Account

OpType = xdr.OperationType

_CLASS_OVERRIDES = {
    OpType.CREATE_PASSIVE_SELL_OFFER: "ManageSellOfferResult",
    OpType.EXTEND_FOOTPRINT_TTL: "ExtendFootprintTTLResult",
}
_ATTR_OVERRIDES = {OpType.BUMP_SEQUENCE: "bump_seq_result"}


def _result_class(kind: xdr.OperationType) -> Any:
    name = _CLASS_OVERRIDES.get(kind) or "".join(w.capitalize() for w in kind.name.split("_")) + "Result"
    return getattr(xdr, name)


def result_code_enum(kind: xdr.OperationType) -> Any:
    """The <Op>ResultCode enum of an operation type."""
    return getattr(xdr, _result_class(kind).__name__ + "Code")


def success_code(kind: xdr.OperationType) -> str:
    return str(result_code_enum(kind)(0).name)


def account_id(g_address: str) -> xdr.AccountID:
    return Keypair.from_public_key(g_address).xdr_account_id()


def _success_payload(op: xdr.Operation, extra: dict[str, Any]) -> dict[str, Any]:
    kind = op.body.type
    if kind in (OpType.MANAGE_SELL_OFFER, OpType.CREATE_PASSIVE_SELL_OFFER, OpType.MANAGE_BUY_OFFER):
        # Offers are not modelled: report the offer as fully consumed/deleted.
        offer = xdr.ManageOfferSuccessResultOffer(xdr.ManageOfferEffect.MANAGE_OFFER_DELETED)
        return {"success": xdr.ManageOfferSuccessResult([], offer)}
    if kind == OpType.PATH_PAYMENT_STRICT_RECEIVE:
        pp = op.body.path_payment_strict_receive_op
        assert pp is not None
        last = xdr.SimplePaymentResult(account_id(account_of(pp.destination)), pp.dest_asset, pp.dest_amount)
        return {"success": xdr.PathPaymentStrictReceiveResultSuccess([], last)}
    if kind == OpType.PATH_PAYMENT_STRICT_SEND:
        ps = op.body.path_payment_strict_send_op
        assert ps is not None
        last = xdr.SimplePaymentResult(account_id(account_of(ps.destination)), ps.dest_asset, ps.dest_min)
        return {"success": xdr.PathPaymentStrictSendResultSuccess([], last)}
    if kind == OpType.ACCOUNT_MERGE:
        return {"source_account_balance": xdr.Int64(extra.get("balance", 0))}
    if kind == OpType.INFLATION:
        return {"payouts": []}
    if kind == OpType.CREATE_CLAIMABLE_BALANCE:
        balance_id = xdr.Hash(hashlib.sha256(op.to_xdr_bytes()).digest())
        cb_type = xdr.ClaimableBalanceIDType.CLAIMABLE_BALANCE_ID_TYPE_V0
        return {"balance_id": xdr.ClaimableBalanceID(cb_type, balance_id)}
    if kind == OpType.INVOKE_HOST_FUNCTION:
        return {"success": xdr.Hash(b"\0" * 32)}
    return {}


def op_result(
    op: xdr.Operation, code: str | None = None, extra: dict[str, Any] | None = None
) -> xdr.OperationResult:
    """An OperationResult. code: an inner code name (e.g. "PAYMENT_UNDERFUNDED"), an outer one
    ("opBAD_AUTH", "opNO_ACCOUNT", ...), or None for the operation's success code."""
    kind = op.body.type
    if code is not None and code.startswith("op"):
        return xdr.OperationResult(xdr.OperationResultCode[code])
    enum = result_code_enum(kind)
    inner_code = enum(0) if code is None else enum[code]
    payload = _success_payload(op, extra or {}) if inner_code.value == 0 else {}
    inner = _result_class(kind)(code=inner_code, **payload)
    attr = _ATTR_OVERRIDES.get(kind, kind.name.lower() + "_result")
    tr = xdr.OperationResultTr(kind, **{attr: inner})
    return xdr.OperationResult(xdr.OperationResultCode.opINNER, tr)


def _tx_result_result(code: str, op_results: list[xdr.OperationResult] | None) -> xdr.TransactionResultResult:
    has_ops = code in ("txSUCCESS", "txFAILED")
    return xdr.TransactionResultResult(
        xdr.TransactionResultCode[code], results=list(op_results or []) if has_ops else None
    )


def tx_result(
    code: str, fee_charged: int, op_results: list[xdr.OperationResult] | None = None
) -> xdr.TransactionResult:
    return xdr.TransactionResult(
        xdr.Int64(fee_charged), _tx_result_result(code, op_results), xdr.TransactionResultExt(0)
    )


def fee_bump_result(
    code: str,
    fee_charged: int,
    inner_hash: bytes | None = None,
    inner_code: str | None = None,
    inner_ops: list[xdr.OperationResult] | None = None,
) -> xdr.TransactionResult:
    """A fee-bump result: outer-only errors carry no inner pair; inner outcomes do."""
    if inner_code is None or inner_hash is None:
        return tx_result(code, fee_charged)
    has_ops = inner_code in ("txSUCCESS", "txFAILED")
    inner = xdr.InnerTransactionResult(
        xdr.Int64(0),
        xdr.InnerTransactionResultResult(
            xdr.TransactionResultCode[inner_code],
            results=list(inner_ops or []) if has_ops else None,
        ),
        xdr.InnerTransactionResultExt(0),
    )
    pair = xdr.InnerTransactionResultPair(xdr.Hash(inner_hash), inner)
    result = xdr.TransactionResultResult(xdr.TransactionResultCode[code], inner_result_pair=pair)
    return xdr.TransactionResult(xdr.Int64(fee_charged), result, xdr.TransactionResultExt(0))


def tx_meta(op_count: int) -> xdr.TransactionMeta:
    """A structurally valid meta with no ledger changes recorded (nothing in the suite reads
    them; building real deltas would only slow the fake down)."""
    empty = xdr.LedgerEntryChanges([])
    v3 = xdr.TransactionMetaV3(
        xdr.ExtensionPoint(0),
        empty,
        [xdr.OperationMeta(empty) for _ in range(op_count)],
        empty,
        None,
    )
    return xdr.TransactionMeta(3, v3=v3)


def ledger_header(
    seq: int, close_time: int, protocol: int, base_fee: int, base_reserve: int
) -> xdr.LedgerHeader:
    zero = xdr.Hash(b"\0" * 32)
    prev = xdr.Hash(hashlib.sha256(b"fakenet-ledger-%d" % (seq - 1)).digest())
    value = xdr.StellarValue(
        zero,
        xdr.TimePoint(xdr.Uint64(close_time)),
        [],
        xdr.StellarValueExt(xdr.StellarValueType.STELLAR_VALUE_BASIC),
    )
    return xdr.LedgerHeader(
        xdr.Uint32(protocol),
        prev,
        value,
        zero,
        zero,
        xdr.Uint32(seq),
        xdr.Int64(1_000_000_000 * 10_000_000),
        xdr.Int64(0),
        xdr.Uint32(0),
        xdr.Uint64(0),
        xdr.Uint32(base_fee),
        xdr.Uint32(base_reserve),
        xdr.Uint32(1000),
        [zero, zero, zero, zero],
        xdr.LedgerHeaderExt(0),
    )


def ledger_close_meta(header: xdr.LedgerHeader) -> tuple[str, xdr.LedgerCloseMeta]:
    """(hex hash of the header, an empty LedgerCloseMeta for it)."""
    digest = hashlib.sha256(header.to_xdr_bytes()).digest()
    entry = xdr.LedgerHeaderHistoryEntry(xdr.Hash(digest), header, xdr.LedgerHeaderHistoryEntryExt(0))
    tx_set = xdr.TransactionSet(header.previous_ledger_hash, [])
    return digest.hex(), xdr.LedgerCloseMeta(0, v0=xdr.LedgerCloseMetaV0(entry, tx_set, [], [], []))


def account_key(g_address: str) -> xdr.LedgerKey:
    return xdr.LedgerKey(xdr.LedgerEntryType.ACCOUNT, account=xdr.LedgerKeyAccount(account_id(g_address)))


def account_entry_data(acc: Account) -> xdr.LedgerEntryData:
    signers = [
        xdr.Signer(SignerKey.from_encoded_signer_key(s.key).to_xdr_object(), xdr.Uint32(s.weight))
        for s in acc.signers
    ]
    ext = xdr.AccountEntryExt(0)
    if acc.seq_ledger or acc.seq_time:
        # Accounts whose sequence moved since protocol 19 carry the v1->v2->v3 chain.
        v3 = xdr.AccountEntryExtensionV3(
            xdr.ExtensionPoint(0), xdr.Uint32(acc.seq_ledger), xdr.TimePoint(xdr.Uint64(acc.seq_time))
        )
        v2 = xdr.AccountEntryExtensionV2(
            xdr.Uint32(0),
            xdr.Uint32(0),
            [xdr.SponsorshipDescriptor(None) for _ in signers],
            xdr.AccountEntryExtensionV2Ext(3, v3=v3),
        )
        v1 = xdr.AccountEntryExtensionV1(
            xdr.Liabilities(xdr.Int64(0), xdr.Int64(0)), xdr.AccountEntryExtensionV1Ext(2, v2=v2)
        )
        ext = xdr.AccountEntryExt(1, v1=v1)
    entry = xdr.AccountEntry(
        account_id=account_id(acc.account_id),
        balance=xdr.Int64(acc.balance),
        seq_num=xdr.SequenceNumber(xdr.Int64(acc.seq_num)),
        num_sub_entries=xdr.Uint32(acc.num_sub_entries),
        inflation_dest=None,
        flags=xdr.Uint32(acc.flags),
        home_domain=xdr.String32(acc.home_domain.encode()),
        thresholds=xdr.Thresholds(bytes([acc.master_weight, acc.low, acc.med, acc.high])),
        signers=signers,
        ext=ext,
    )
    return xdr.LedgerEntryData(xdr.LedgerEntryType.ACCOUNT, account=entry)
