"""A plain-language summary of a transaction for people asked to sign it. Pure, no I/O."""

from __future__ import annotations

from typing import Any

import stellar_sdk as ops
from stellar_sdk import Asset, FeeBumpTransactionEnvelope, TransactionEnvelope
from stellar_sdk import xdr as stellar_xdr
from stellar_sdk.memo import HashMemo, IdMemo, NoneMemo, ReturnHashMemo, TextMemo
from stellar_sdk.utils import from_xdr_amount, raise_if_not_valid_amount

from app.stellar.envelope import (
    ParsedEnvelope,
    base_account,
    operation_level,
    xdr_account,
    xdr_operation_level,
)

_LEVELS = ("low", "medium", "high")


def _asset(asset: Asset) -> str:
    return "XLM" if asset.is_native() else f"{asset.code} ({asset.issuer})"


def _op_type(op: ops.Operation) -> str:
    name = type(op).__name__
    return name[0].lower() + name[1:]


def _describe(op: ops.Operation) -> str:
    if isinstance(op, ops.Payment):
        return f"Pay {op.amount} {_asset(op.asset)} to {op.destination.account_id}"
    if isinstance(op, ops.CreateAccount):
        return f"Create account {op.destination} with {op.starting_balance} XLM"
    if isinstance(op, ops.PathPaymentStrictSend | ops.PathPaymentStrictReceive):
        return (f"Path payment: send {_asset(op.send_asset)}, deliver {_asset(op.dest_asset)} to "
                f"{op.destination.account_id}")
    if isinstance(op, ops.ChangeTrust):
        verb = "Remove trustline to" if str(op.limit) in ("0", "0.0000000") else "Trust"
        return f"{verb} {getattr(op.asset, 'code', 'liquidity pool shares')}"
    if isinstance(op, ops.AccountMerge):
        return f"Merge this account into {op.destination.account_id} (the account is removed)"
    if isinstance(op, ops.BumpSequence):
        return f"Bump sequence number to {op.bump_to}"
    if isinstance(op, ops.ManageData):
        return f"{'Set' if op.data_value is not None else 'Delete'} data entry \"{op.data_name}\""
    if isinstance(op, ops.SetOptions):
        return _describe_set_options(op)
    if isinstance(op, ops.ManageSellOffer | ops.ManageBuyOffer | ops.CreatePassiveSellOffer):
        return f"Offer to trade {_asset(op.selling)} for {_asset(op.buying)}"
    if isinstance(op, ops.InvokeHostFunction):
        return "Invoke a smart contract function"
    return f"{_op_type(op)} operation"


def _describe_set_options(op: ops.SetOptions) -> str:
    parts = []
    if op.signer is not None:
        key = op.signer.signer_key.encoded_signer_key
        parts.append(f"remove signer {key}" if op.signer.weight == 0
                     else f"set signer {key} to weight {op.signer.weight}")
    if op.master_weight is not None:
        parts.append(f"set master key weight to {op.master_weight}")
    thresholds = (op.low_threshold, op.med_threshold, op.high_threshold)
    if any(t is not None for t in thresholds):
        parts.append("set thresholds " + "/".join("-" if t is None else str(t) for t in thresholds))
    if op.home_domain is not None:
        parts.append(f"set home domain to {op.home_domain!r}")
    if op.inflation_dest is not None:
        parts.append(f"set inflation destination to {op.inflation_dest}")
    if op.set_flags or op.clear_flags:
        parts.append("change account flags")
    return "Account options: " + (", ".join(parts) if parts else "no change")


def _memo(memo: Any) -> dict[str, Any] | None:
    if memo is None or isinstance(memo, NoneMemo):
        return None
    if isinstance(memo, TextMemo):
        return {"type": "text", "value": memo.memo_text.decode("utf-8", "replace")}
    if isinstance(memo, IdMemo):
        return {"type": "id", "value": str(memo.memo_id)}
    if isinstance(memo, HashMemo):
        return {"type": "hash", "value": memo.memo_hash.hex()}
    if isinstance(memo, ReturnHashMemo):
        return {"type": "return", "value": memo.memo_return.hex()}
    return {"type": "unknown", "value": None}


def _preconditions(te: TransactionEnvelope) -> dict[str, Any]:
    pre = te.transaction.preconditions
    if pre is None:
        return {}
    found: dict[str, Any] = {}
    if pre.time_bounds is not None:
        found["timeBounds"] = {"minTime": pre.time_bounds.min_time,
                               "maxTime": pre.time_bounds.max_time}
    if pre.ledger_bounds is not None:
        found["ledgerBounds"] = {"minLedger": pre.ledger_bounds.min_ledger,
                                 "maxLedger": pre.ledger_bounds.max_ledger}
    if pre.min_sequence_number is not None:
        found["minSequence"] = str(pre.min_sequence_number)
    if pre.min_sequence_age:
        found["minSequenceAge"] = pre.min_sequence_age
    if pre.min_sequence_ledger_gap:
        found["minSequenceLedgerGap"] = pre.min_sequence_ledger_gap
    if pre.extra_signers:
        found["extraSigners"] = [s.encoded_signer_key for s in pre.extra_signers]
    return found


def summarize_transaction(te: TransactionEnvelope) -> dict[str, Any]:
    tx = te.transaction
    source = base_account(tx.source)
    return {
        "source": source,
        "fee": tx.fee,
        "sequence": str(tx.sequence),
        "memo": _memo(tx.memo),
        "operations": [
            {
                "type": _op_type(op),
                "source": base_account(op.source) if op.source is not None else source,
                "threshold": _LEVELS[operation_level(op)],
                "description": _describe(op),
            }
            for op in tx.operations
        ],
        "preconditions": _preconditions(te),
    }


def summarize(envelope: TransactionEnvelope | FeeBumpTransactionEnvelope) -> dict[str, Any]:
    if isinstance(envelope, FeeBumpTransactionEnvelope):
        fb = envelope.transaction
        inner = summarize_transaction(fb.inner_transaction_envelope)
        return {**inner, "feeBump": {"feeSource": base_account(fb.fee_source), "fee": fb.fee}}
    return summarize_transaction(envelope)


def summarize_parsed(parsed: ParsedEnvelope) -> dict[str, Any]:
    """``summarize`` of a parsed envelope: read from its decoded XDR when that is a v1 envelope of
    payments (what most co-signed transactions are), else from the SDK's objects. Building those
    costs more than decoding the envelope did; the XDR path validates what their constructors
    would (amounts, asset codes, time bounds) and leaves anything else to them, so both ways give
    the same summary or the same refusal (kept equal by a property test)."""
    fast = _payments_summary(parsed.source_xdr) if parsed.source_xdr is not None else None
    return fast if fast is not None else summarize(parsed.envelope)


_PAYMENT = stellar_xdr.OperationType.PAYMENT
_NATIVE = stellar_xdr.AssetType.ASSET_TYPE_NATIVE
_MEMO_NONE = stellar_xdr.MemoType.MEMO_NONE
_MEMO_TEXT = stellar_xdr.MemoType.MEMO_TEXT
_MEMO_ID = stellar_xdr.MemoType.MEMO_ID
_MEMO_HASH = stellar_xdr.MemoType.MEMO_HASH
_MEMO_RETURN = stellar_xdr.MemoType.MEMO_RETURN
_PRECOND_NONE = stellar_xdr.PreconditionType.PRECOND_NONE
_PRECOND_TIME = stellar_xdr.PreconditionType.PRECOND_TIME


def _xdr_memo(memo: stellar_xdr.Memo) -> dict[str, Any] | None | bool:
    """_memo from the XDR; False where the SDK's objects must decide."""
    kind = memo.type
    if kind == _MEMO_NONE:
        return None
    if kind == _MEMO_TEXT and memo.text is not None and len(memo.text) <= 28:
        return {"type": "text", "value": memo.text.decode("utf-8", "replace")}
    if kind == _MEMO_ID and memo.id is not None:
        return {"type": "id", "value": str(memo.id.uint64)}
    if kind == _MEMO_HASH and memo.hash is not None:
        return {"type": "hash", "value": memo.hash.hash.hex()}
    if kind == _MEMO_RETURN and memo.ret_hash is not None:
        return {"type": "return", "value": memo.ret_hash.hash.hex()}
    return False


def _payments_summary(envelope: stellar_xdr.TransactionEnvelope) -> dict[str, Any] | None:
    """summarize_transaction for a v1 envelope whose operations are all payments, read from the
    decoded XDR; None for anything else, or anything the SDK's constructors might refuse."""
    if envelope.type != stellar_xdr.EnvelopeType.ENVELOPE_TYPE_TX or envelope.v1 is None:
        return None
    tx = envelope.v1.tx
    if tx.ext.v != 0 or not tx.operations:
        return None
    memo = _xdr_memo(tx.memo)
    if memo is False:
        return None
    preconditions: dict[str, Any] = {}
    if tx.cond.type == _PRECOND_TIME and tx.cond.time_bounds is not None:
        low = tx.cond.time_bounds.min_time.time_point.uint64
        high = tx.cond.time_bounds.max_time.time_point.uint64
        if 0 < high < low:
            return None  # the SDK refuses these bounds: let it say so
        preconditions["timeBounds"] = {"minTime": low, "maxTime": high}
    elif tx.cond.type != _PRECOND_NONE:
        return None
    source = xdr_account(tx.source_account)
    operations = []
    for op in tx.operations:
        payment = op.body.payment_op
        if op.body.type != _PAYMENT or payment is None:
            return None
        amount = from_xdr_amount(payment.amount.int64)
        try:
            raise_if_not_valid_amount(amount, "amount")
            asset = (Asset.native() if payment.asset.type == _NATIVE
                     else Asset.from_xdr_object(payment.asset))
        except Exception:
            return None  # the SDK's objects refuse it the same way, with their own message
        operations.append({
            "type": "payment",
            "source": xdr_account(op.source_account) if op.source_account is not None else source,
            "threshold": _LEVELS[xdr_operation_level(op.body)],
            "description": f"Pay {amount} {_asset(asset)} to {xdr_account(payment.destination)}",
        })
    return {
        "source": source,
        "fee": tx.fee.uint32,
        "sequence": str(tx.seq_num.sequence_number.int64),
        "memo": memo,
        "operations": operations,
        "preconditions": preconditions,
    }
