"""Decode a TransactionResult XDR into Horizon-style result codes. Pure, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stellar_sdk import xdr as stellar_xdr

_SUCCESS = {"txSUCCESS", "txFEE_BUMP_INNER_SUCCESS"}


@dataclass(frozen=True, slots=True)
class ResultCodes:
    transaction: str  # e.g. "tx_bad_seq" (Horizon's spelling)
    operations: list[str] = field(default_factory=list)  # e.g. ["op_underfunded"]
    inner: str | None = None  # a fee bump's inner transaction code

    @property
    def successful(self) -> bool:
        return self.transaction in ("tx_success", "tx_fee_bump_inner_success")

    def legacy_message(self) -> str:
        """The original's error text, e.g. "Tx error: txBadSeq"."""
        camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), self.inner or self.transaction)
        return f"Tx error: {camel}"

    def to_json(self) -> dict[str, Any]:
        return {"transactionCode": self.transaction, "operationCodes": self.operations,
                "innerTransactionCode": self.inner}


def _tx_code(name: str) -> str:
    return "tx_" + name.removeprefix("tx").lower()


def _op_codes(results: list[stellar_xdr.OperationResult] | None) -> list[str]:
    codes = []
    for op in results or []:
        if op.code != stellar_xdr.OperationResultCode.opINNER or op.tr is None:
            codes.append("op_" + op.code.name.removeprefix("op").lower())
            continue
        inner = next((v for k, v in vars(op.tr).items() if k.endswith("_result") and v is not None),
                     None)
        code = getattr(inner, "code", None)
        if code is None:
            codes.append("op_unknown")
            continue
        prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", type(code).__name__.removesuffix("ResultCode"))
        rest = code.name.removeprefix(prefix.upper() + "_")
        codes.append("op_" + rest.lower())
    return codes


def decode_result(result_xdr: str) -> ResultCodes:
    result = stellar_xdr.TransactionResult.from_xdr(result_xdr).result
    inner_pair = result.inner_result_pair
    if inner_pair is not None:
        inner = inner_pair.result.result
        return ResultCodes(_tx_code(result.code.name), _op_codes(inner.results),
                           _tx_code(inner.code.name))
    return ResultCodes(_tx_code(result.code.name), _op_codes(result.results))
