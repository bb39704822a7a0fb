"""A plain-language summary of a transaction for people asked to sign it. Pure, no I/O."""

from __future__ import annotations

from typing import Any

import stellar_sdk as ops
from stellar_sdk import Asset, FeeBumpTransactionEnvelope, TransactionEnvelope
from stellar_sdk.memo import HashMemo, IdMemo, NoneMemo, ReturnHashMemo, TextMemo

from app.stellar.envelope import base_account, operation_level

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
