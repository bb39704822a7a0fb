"""The Horizon REST view of the same ledger (only what a multisig coordinator touches)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from stellar_sdk import xdr

from .faults import STATUSES, Fault, Faults
from .ledger import Ledger
from .model import Account, ApplyResult
from .wire import HAL, Reply, Transport, http_fault_reply, json_reply, problem

_SIGNER_TYPES = {
    "G": "ed25519_public_key",
    "T": "preauth_tx",
    "X": "sha256_hash",
    "P": "ed25519_signed_payload",
}
_ASYNC_HTTP = {"PENDING": 201, "DUPLICATE": 409, "TRY_AGAIN_LATER": 503, "ERROR": 400}


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _amount(stroops: int) -> str:
    sign = "-" if stroops < 0 else ""
    whole, frac = divmod(abs(stroops), 10_000_000)
    return f"{sign}{whole}.{frac:07d}"


def not_found() -> Reply:
    return problem(
        404,
        "not_found",
        "Resource Missing",
        "The resource at the url requested was not found.  This usually occurs for one of two "
        "reasons:  The url requested is not valid, or no data in our database could be found "
        "with the parameters provided.",
    )


def _malformed(envelope: str) -> Reply:
    return problem(
        400,
        "transaction_malformed",
        "Transaction Malformed",
        "Horizon could not decode the transaction envelope in this request. A transaction should "
        "be an XDR TransactionEnvelope struct encoded using base64.  The envelope read from this "
        "request is echoed in the `extras.envelope_xdr` field of this response for your "
        "convenience.",
        envelope_xdr=envelope,
    )


def _failed(result: ApplyResult) -> Reply:
    return problem(
        400,
        "transaction_failed",
        "Transaction Failed",
        "The transaction failed when submitted to the stellar network. The `extras.result_codes` "
        "field on this response contains further details.  Descriptions of each code can be "
        "found at: https://developers.stellar.org/docs/data/apis/horizon/api-reference/errors/"
        "http-status-codes/horizon-specific/transaction-failed",
        envelope_xdr=result.envelope_xdr,
        result_codes=result.horizon_result_codes(),
        result_xdr=result.result_xdr,
    )


class HorizonApi:
    def __init__(self, ledger: Ledger, faults: Faults, transport: Transport, base_url: str) -> None:
        self.ledger = ledger
        self.faults = faults
        self.transport = transport
        self.base_url = base_url

    def handle(self, verb: str, path: str, body: bytes, content_type: str) -> Reply:
        parts = [p for p in path.split("/") if p]
        route = f"{verb} /{parts[0] if parts else ''}"
        routes = {
            "GET /": (0, self._root),
            "GET /accounts": (1, self._account),
            "GET /transactions": (1, self._transaction),
            "POST /transactions": (0, self._submit),
            "POST /transactions_async": (0, self._submit_async),
        }
        if route not in routes or len(parts) - (1 if parts else 0) != routes[route][0]:
            return not_found()
        self.faults.count(route)
        fault = self.faults.take(route)
        early = self.transport.before(fault, horizon=True)
        if early is not None:
            return early
        argument = parts[1] if len(parts) > 1 else _form_tx(body, content_type)
        reply = routes[route][1](argument, fault)
        return self.transport.after(fault, reply, horizon=True)

    def _root(self, _: str | None, fault: Fault | None) -> Reply:
        seq = self.ledger.sequence
        closed = _iso(self.ledger.close_time())
        return json_reply(
            {
                "_links": {"self": {"href": self.base_url + "/"}},
                "horizon_version": "fakenet",
                "core_version": "stellar-core fakenet",
                "ingest_latest_ledger": seq,
                "history_latest_ledger": seq,
                "history_latest_ledger_closed_at": closed,
                "history_elder_ledger": self.ledger.oldest_sequence,
                "core_latest_ledger": seq,
                "network_passphrase": self.ledger.passphrase,
                "current_protocol_version": self.ledger.protocol_version,
                "supported_protocol_version": self.ledger.protocol_version,
                "core_supported_protocol_version": self.ledger.protocol_version,
            },
            content_type=HAL,
        )

    def _account(self, account_id: str | None, fault: Fault | None) -> Reply:
        account = self.ledger.get_account(account_id or "")
        if account is None or (fault is not None and fault.action == "NOT_FOUND"):
            return not_found()
        return json_reply(self.account_json(account), content_type=HAL)

    def account_json(self, acc: Account) -> dict[str, Any]:
        signers = [
            {"weight": s.weight, "key": s.key, "type": _SIGNER_TYPES[s.key[0]]}
            for s in sorted(acc.signers, key=lambda s: s.key)
        ]
        # Horizon lists the master key last, and only while its weight is above zero.
        if acc.master_weight:
            signers.append({"weight": acc.master_weight, "key": acc.account_id, "type": "ed25519_public_key"})
        data: dict[str, Any] = {
            "_links": {"self": {"href": f"{self.base_url}/accounts/{acc.account_id}"}},
            "id": acc.account_id,
            "account_id": acc.account_id,
            "sequence": str(acc.seq_num),
            "subentry_count": acc.num_sub_entries,
            "last_modified_ledger": acc.last_modified,
            "thresholds": {"low_threshold": acc.low, "med_threshold": acc.med, "high_threshold": acc.high},
            "flags": {
                "auth_required": bool(acc.flags & 1),
                "auth_revocable": bool(acc.flags & 2),
                "auth_immutable": bool(acc.flags & 4),
                "auth_clawback_enabled": bool(acc.flags & 8),
            },
            "balances": [
                {
                    "balance": _amount(acc.balance),
                    "buying_liabilities": "0.0000000",
                    "selling_liabilities": "0.0000000",
                    "asset_type": "native",
                }
            ],
            "signers": signers,
            "data": {},
            "num_sponsoring": 0,
            "num_sponsored": 0,
            "paging_token": acc.account_id,
        }
        if acc.home_domain:
            data["home_domain"] = acc.home_domain
        if acc.seq_ledger or acc.seq_time:
            data["sequence_ledger"] = acc.seq_ledger
            data["sequence_time"] = str(acc.seq_time)
        return data

    def _transaction(self, tx_hash: str | None, fault: Fault | None) -> Reply:
        record = self.ledger.get_transaction(tx_hash or "")
        hidden = fault is not None and fault.action == "NOT_FOUND"
        if record is None or hidden or self.faults.hidden((tx_hash or "").lower()):
            return not_found()
        return json_reply(self.transaction_json(record, (tx_hash or "").lower()), content_type=HAL)

    def transaction_json(self, rec: ApplyResult, requested: str) -> dict[str, Any]:
        env = xdr.TransactionEnvelope.from_xdr(rec.envelope_xdr)
        data: dict[str, Any] = {
            "_links": {"self": {"href": f"{self.base_url}/transactions/{requested}"}},
            "id": requested,
            "paging_token": str((rec.ledger or 0) << 32 | 1 << 12),
            "successful": rec.successful,
            "hash": requested,
            "ledger": rec.ledger,
            "created_at": _iso(rec.created_at or 0),
            "source_account": rec.source_account,
            "source_account_sequence": str(rec.sequence),
            "fee_account": rec.fee_account,
            "fee_charged": str(rec.fee_charged),
            "max_fee": str(rec.max_fee),
            "operation_count": rec.operation_count,
            "envelope_xdr": rec.envelope_xdr,
            "result_xdr": rec.result_xdr,
            "result_meta_xdr": rec.result_meta_xdr,
            "fee_meta_xdr": "",
            "memo_type": _memo_type(env),
            "signatures": _signatures(env),
        }
        if rec.fee_bump and env.fee_bump is not None:
            inner = env.fee_bump.tx.inner_tx.v1
            assert inner is not None
            data["fee_bump_transaction"] = {"hash": rec.hash, "signatures": data["signatures"]}
            data["inner_transaction"] = {
                "hash": rec.inner_hash,
                "signatures": _b64(inner.signatures),
                "max_fee": str(inner.tx.fee.uint32),
            }
        return data

    def _submit(self, envelope: str | None, fault: Fault | None) -> Reply:
        if not envelope:
            return problem(
                400,
                "bad_request",
                "Bad Request",
                "The request you sent was invalid in some way.",
                invalid_field="tx",
                reason="Field should be a valid transaction envelope",
            )
        # Horizon answers an already-ingested hash from its history instead of resubmitting.
        result = self.ledger.apply(envelope, via="horizon", known_first=True)
        if result.status == "malformed":
            return _malformed(envelope)
        if result.status in ("queued", "duplicate", "try_again_later"):
            # Horizon takes PENDING, DUPLICATE and TRY_AGAIN_LATER alike as "submitted" and
            # waits for the hash to land in a ledger; a transaction that never lands (dropped,
            # or never queued) ends in its timeout.
            landed = self.ledger.wait_for(result.hash or "", self.ledger.horizon_wait)
            if landed is None:
                return http_fault_reply(504, horizon=True)
            result = landed
        if not result.successful:
            return _failed(result)
        return json_reply(self.transaction_json(result, result.hash or ""), content_type=HAL)

    def _submit_async(self, envelope: str | None, fault: Fault | None) -> Reply:
        if not envelope:
            return _malformed("")
        if fault is not None and fault.action in STATUSES and not fault.applies_first:
            tx_hash = self.ledger.hash_of(envelope)
            if tx_hash is None:
                return _malformed(envelope)
            self.ledger.record_submission("horizon_async", envelope, tx_hash, "fault", fault.kind)
            return json_reply({"tx_status": fault.kind, "hash": tx_hash}, _ASYNC_HTTP[fault.kind], HAL)
        result = self.ledger.apply(envelope, via="horizon_async")
        if result.status == "malformed":
            return _malformed(envelope)
        status = result.core_status
        if fault is not None and fault.action in STATUSES:
            status = fault.action
        answer: dict[str, Any] = {"tx_status": status, "hash": result.hash}
        if status == "ERROR" and result.core_status == "ERROR":
            answer["error_result_xdr"] = result.result_xdr
        return json_reply(answer, _ASYNC_HTTP[status], HAL)


def _form_tx(body: bytes, content_type: str) -> str | None:
    if not body:
        return None
    if content_type.startswith("application/json"):
        try:
            value = json.loads(body).get("tx")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None
    values = parse_qs(body.decode("utf-8", "replace")).get("tx")
    return values[0] if values else None


def _memo_type(env: xdr.TransactionEnvelope) -> str:
    tx: Any
    if env.fee_bump is not None:
        tx = env.fee_bump.tx.inner_tx.v1.tx if env.fee_bump.tx.inner_tx.v1 else None
    else:
        tx = env.v1.tx if env.v1 is not None else env.v0.tx if env.v0 is not None else None
    if tx is None:
        return "none"
    return str(tx.memo.type.name).removeprefix("MEMO_").lower()


def _b64(signatures: list[xdr.DecoratedSignature]) -> list[str]:
    return [base64.b64encode(s.signature.signature).decode() for s in signatures]


def _signatures(env: xdr.TransactionEnvelope) -> list[str]:
    holder = env.fee_bump or env.v1 or env.v0
    assert holder is not None
    return _b64(holder.signatures)
