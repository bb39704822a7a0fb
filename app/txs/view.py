"""The JSON shape of a record (TxInfo), compatible with the original's and extended."""

from __future__ import annotations

import base64
from typing import Any

from app.txs.model import TxRecord
from app.txs.reasons import reason_of


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def tx_info(record: TxRecord) -> dict[str, Any]:
    info = _public_info(record)
    if record.private:  # only then: public records keep the original's exact shape
        info["visibility"] = "private"
    return info


def _public_info(record: TxRecord) -> dict[str, Any]:
    derived = record.derived
    return {
        "hash": record.hash,
        "network": record.network,
        "xdr": derived.get("xdr") or record.xdr,
        "signatures": [
            {"key": s.key, "signature": base64.b64encode(s.signature).decode(),
             "addedAt": int(s.added_at)}
            for s in record.signatures
        ],
        "status": record.status.value,
        "submit": record.submit,
        # The URL is the operator's and the receiver's secret (it often carries a token): the
        # public record only says whether there is one.
        "callback": record.callback_url is not None,
        "desiredSigners": record.desired_signers,
        "minTime": record.min_time,
        "maxTime": record.max_time,
        "submitted": record.submitted,
        "error": record.error,
        "reason": reason_of(record.status.value, record.error, record.result, derived.get("reason")),
        "waitingFor": derived.get("waitingFor") if not record.status.final else None,
        "createdAt": int(record.created_at),
        "updatedAt": int(record.updated_at),
        "readyAt": _int(record.ready_at),
        # Set while a ready record waits for its next submission attempt after a transient failure.
        "nextAttemptAt": _int(record.next_attempt_at),
        "feeBump": derived.get("feeBump"),
        "result": record.result,
        "progress": derived.get("progress"),
        "summary": derived.get("summary"),
    }
