"""Why a record ended without being applied (``reason``), and what a live record waits for
(``waitingFor``), as shown on the wire. Pure, no I/O.

``reason.code`` is one of ``sequence_consumed``, ``superseded_by`` (with ``hash``), ``expired``,
or the network's result code in Horizon's spelling (``tx_bad_auth``, ``op_underfunded``...,
with ``resultCodes``). ``message`` is for people; clients switch on ``code``.
"""

from __future__ import annotations

from typing import Any

from app.stellar.sequencing import Decision, State, Wait, WaitKind

SEQUENCE_CONSUMED = "sequence_consumed"
SUPERSEDED_BY = "superseded_by"
EXPIRED = "expired"
# The text the worker has always stored in ``error`` for an expired record.
EXPIRED_MESSAGE = "Transaction has already expired"


def sequence_consumed(account_sequence: int, tx_sequence: int) -> dict[str, Any]:
    return {
        "code": SEQUENCE_CONSUMED,
        "message": f"The transaction is stale: the source account's sequence number "
                   f"({account_sequence}) has moved past this transaction's ({tx_sequence}) and it "
                   "is not on the ledger, so it can never be applied.",
    }


def superseded_by(tx_hash: str, tx_sequence: int) -> dict[str, Any]:
    return {
        "code": SUPERSEDED_BY,
        "hash": tx_hash,
        "message": f"Transaction {tx_hash} with the same source and sequence number ({tx_sequence}) "
                   "was applied instead; this one can never be applied.",
    }


def expired(detail: str | None = None) -> dict[str, Any]:
    message = EXPIRED_MESSAGE if detail is None else f"{EXPIRED_MESSAGE}: {detail}"
    return {"code": EXPIRED, "message": message}


def invalid_min_seq_num(min_seq_num: int, tx_sequence: int) -> dict[str, Any]:
    return {
        "code": "tx_bad_seq",
        "resultCodes": {"transaction": "tx_bad_seq", "operations": []},
        "message": f"minSeqNum ({min_seq_num}) is not below the transaction's sequence number "
                   f"({tx_sequence}): the network can never accept it.",
    }


def network_failure(transaction: str, operations: list[str], inner: str | None,
                    message: str | None = None) -> dict[str, Any]:
    """The network refused or failed the transaction: its result codes."""
    main = inner or transaction
    # A failed operation says more than tx_failed does.
    failed_op = next((op for op in operations if op not in ("op_success", "op_inner")), None)
    code = failed_op if main == "tx_failed" and failed_op is not None else main
    codes: dict[str, Any] = {"transaction": transaction, "operations": list(operations)}
    if inner is not None:
        codes["innerTransaction"] = inner
    return {"code": code, "resultCodes": codes,
            "message": message or f"The network did not apply the transaction ({code})."}


def final_reason(decision: Decision, tx_sequence: int, account_sequence: int,
                 min_seq_num: int | None = None) -> dict[str, Any] | None:
    """The reason for a decision that ends the record (None when it does not, or for STALE,
    which needs a lookup by hash before it can be called ``sequence_consumed``)."""
    if decision.state is State.SUPERSEDED and decision.superseded_by is not None:
        return superseded_by(decision.superseded_by, tx_sequence)
    if decision.state is State.EXPIRED:
        return expired("its maxTime or maxLedger has passed")
    if decision.state is State.INVALID:
        return invalid_min_seq_num(min_seq_num or 0, tx_sequence)
    return None


def _wait_json(wait: Wait) -> dict[str, Any]:
    data: dict[str, Any] = {"kind": wait.kind.value}
    if wait.hash is not None:
        data["hash"] = wait.hash
    if wait.time is not None:
        data["at"] = wait.time
    if wait.ledger is not None:
        data["ledger"] = wait.ledger
    return data


def waiting_for(decision: Decision) -> dict[str, Any] | None:
    """``waitingFor`` of a live record: why it is not submitted now (None if it is, or if it
    only waits for signatures, which ``progress`` already says)."""
    if decision.state is State.BLOCKED:
        return {
            "kind": "blocked",
            # int64 sequence numbers are strings on the wire, as on Horizon
            "missing": [{"from": str(lo), "to": str(hi)} for lo, hi in decision.missing],
            "missingCount": decision.missing_count,
        }
    wait = decision.waiting_for
    if decision.state is not State.WAITING or wait is None or wait.kind is WaitKind.SIGNATURES:
        return None
    data = _wait_json(wait)
    if decision.not_before_time is not None:
        data["notBefore"] = decision.not_before_time
    if decision.not_before_ledger is not None:
        data["notBeforeLedger"] = decision.not_before_ledger
    return data


def reason_of(status: str, error: str | None, result: dict[str, Any] | None,
              stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """``reason`` of a record: the one stored when it ended, else derived from what records
    written before reasons existed hold (the expiry text, the network's result codes)."""
    if status != "failed":
        return None
    if stored is not None:
        return stored
    if error is not None and error.startswith(EXPIRED_MESSAGE):
        return expired()
    codes = result or {}
    transaction = codes.get("transactionCode")
    if isinstance(transaction, str) and not codes.get("successful"):
        ops = [op for op in codes.get("operationCodes") or [] if isinstance(op, str)]
        inner = codes.get("innerTransactionCode")
        return network_failure(transaction, ops, inner if isinstance(inner, str) else None, error)
    return None
