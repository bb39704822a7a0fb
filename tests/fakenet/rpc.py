"""The Stellar RPC view (JSON-RPC 2.0). Field names and encodings follow stellar-rpc's Go
structs: int64 times that are tagged `,string` in Go are JSON strings here too."""

from __future__ import annotations

import binascii
import json
from collections.abc import Callable
from typing import Any

from stellar_sdk import StrKey, xdr

from .faults import STATUSES, Fault, Faults
from .ledger import Ledger
from .model import ApplyResult
from .results import account_entry_data, ledger_close_meta, ledger_header
from .wire import Reply, Transport, json_reply

MAX_KEYS = 200

RETENTION_WINDOW = 120_960


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(message: str) -> RpcError:
    return RpcError(-32602, message)


class RpcApi:
    def __init__(self, ledger: Ledger, faults: Faults, transport: Transport) -> None:
        self.ledger = ledger
        self.faults = faults
        self.transport = transport
        self.methods: dict[str, Callable[[dict[str, Any], Fault | None], dict[str, Any]]] = {
            "getHealth": self._health,
            "getNetwork": self._network,
            "getLatestLedger": self._latest_ledger,
            "getLedgerEntries": self._ledger_entries,
            "sendTransaction": self._send,
            "getTransaction": self._get_transaction,
            "getFeeStats": self._fee_stats,
            "getVersionInfo": self._version,
        }

    def handle(self, body: bytes) -> Reply:
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return json_reply(_error(None, -32700, "parse error"))
        if isinstance(request, list):
            if not request:
                return json_reply(_error(None, -32600, "empty batch"))
            replies = [self._one(item) for item in request]
            for reply in replies:
                if isinstance(reply, Reply):
                    return reply
            return json_reply(replies)
        answer = self._one(request)
        return answer if isinstance(answer, Reply) else json_reply(answer)

    def _one(self, request: Any) -> dict[str, Any] | Reply:
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
            return _error(None, -32600, "invalid request")
        rid = request.get("id")
        method = request.get("method")
        if not isinstance(method, str) or method not in self.methods:
            return _error(rid, -32601, f'no such method "{method}"')
        params = request.get("params")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return _error(rid, -32602, "invalid parameters: expected an object")
        self.faults.count(method)
        fault = self.faults.take(method)
        early = self.transport.before(fault, horizon=False)
        if early is not None:
            return early
        if fault is not None and fault.kind == "rpc_error":
            return _error(rid, fault.code, fault.message)
        try:
            result = self.methods[method](params, fault)
        except RpcError as exc:
            answer: dict[str, Any] = _error(rid, exc.code, exc.message)
        else:
            answer = {"jsonrpc": "2.0", "id": rid, "result": result}
        after = self.transport.after(fault, Reply(), horizon=False)
        return after if after.drop or after.status != 200 else answer

    # -- methods --------------------------------------------------------------------------

    def _ledger_info(self) -> dict[str, Any]:
        return {"latestLedger": self.ledger.sequence, "latestLedgerCloseTime": str(self.ledger.close_time())}

    def _range(self) -> dict[str, Any]:
        return {
            **self._ledger_info(),
            "oldestLedger": self.ledger.oldest_sequence,
            "oldestLedgerCloseTime": str(self.ledger.started_at),
        }

    def _health(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        return {
            "status": "healthy",
            "latestLedger": self.ledger.sequence,
            "latestLedgerCloseTime": self.ledger.close_time(),
            "oldestLedger": self.ledger.oldest_sequence,
            "ledgerRetentionWindow": RETENTION_WINDOW,
        }

    def _network(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        return {"passphrase": self.ledger.passphrase, "protocolVersion": self.ledger.protocol_version}

    def _version(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        return {
            "version": "fakenet",
            "commitHash": "0" * 40,
            "buildTimestamp": "",
            "captiveCoreVersion": "fakenet",
            "protocolVersion": self.ledger.protocol_version,
        }

    def _fee_stats(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        fee = self.ledger.base_fee
        percentiles = {f"p{p}": str(fee) for p in (10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99)}
        dist: dict[str, Any] = {"max": str(fee), "min": str(fee), "mode": str(fee), **percentiles}
        dist.update(transactionCount="0", ledgerCount=50)
        return {"sorobanInclusionFee": dist, "inclusionFee": dict(dist), "latestLedger": self.ledger.sequence}

    def _latest_ledger(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        ledger = self.ledger
        with ledger.lock:
            seq, close = ledger.sequence, ledger.close_time()
        header = ledger_header(seq, close, ledger.protocol_version, ledger.base_fee, ledger.base_reserve)
        digest, meta = ledger_close_meta(header)
        return {
            "id": digest,
            "protocolVersion": ledger.protocol_version,
            "sequence": seq,
            "closeTime": str(close),
            "headerXdr": header.to_xdr(),
            "metadataXdr": meta.to_xdr(),
        }

    def _ledger_entries(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        keys = params.get("keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise _invalid("keys must be a list of base64 LedgerKey strings")
        if len(keys) > MAX_KEYS:
            raise _invalid(f"key count ({len(keys)}) exceeds maximum supported ({MAX_KEYS})")
        wanted: list[tuple[str, str]] = []
        for index, key in enumerate(keys):
            try:
                lk = xdr.LedgerKey.from_xdr(key)
            except Exception as exc:
                raise _invalid(f"cannot unmarshal key value {key} at index {index}") from exc
            if lk.type == xdr.LedgerEntryType.TTL:
                raise _invalid("ledger ttl entries cannot be queried directly")
            if lk.type == xdr.LedgerEntryType.ACCOUNT and lk.account is not None:
                pk = lk.account.account_id.account_id.ed25519
                assert pk is not None
                wanted.append((key, StrKey.encode_ed25519_public_key(pk.uint256)))
        entries = []
        with self.ledger.lock:
            latest = self.ledger.sequence
            seen: set[str] = set()
            for key, account_id in wanted:
                account = None if fault and fault.kind == "NOT_FOUND" else self.ledger.get_account(account_id)
                if account is None or key in seen:
                    continue
                seen.add(key)
                entries.append(
                    {
                        "key": key,
                        "xdr": account_entry_data(account).to_xdr(),
                        "lastModifiedLedgerSeq": account.last_modified,
                    }
                )
        return {"entries": entries, "latestLedger": latest}

    def _send(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        envelope = params.get("transaction")
        if not isinstance(envelope, str):
            raise _invalid("transaction must be a base64 TransactionEnvelope")
        status_fault = fault is not None and fault.action in STATUSES
        if status_fault and fault is not None and not fault.applies_first:
            tx_hash = self.ledger.hash_of(envelope)
            if tx_hash is None:
                raise _invalid("invalid_xdr")
            self.ledger.record_submission("rpc", envelope, tx_hash, "fault", fault.kind)
            return {"status": fault.kind, "hash": tx_hash, **self._ledger_info()}
        # Like RPC, report the ledger as it was when the transaction arrived; the transaction
        # itself lands in the next one.
        before = self._ledger_info()
        result = self.ledger.apply(envelope, via="rpc")
        if result.status == "malformed":
            raise _invalid("invalid_xdr")
        status = result.core_status
        answer = {"status": status, "hash": result.hash, **before}
        if status == "ERROR":
            answer["errorResultXdr"] = result.result_xdr
        if status_fault and fault is not None:
            answer["status"] = fault.action
            if fault.action != "ERROR" or status != "ERROR":
                answer.pop("errorResultXdr", None)
        return answer

    def _get_transaction(self, params: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
        tx_hash = params.get("hash")
        if not isinstance(tx_hash, str) or len(tx_hash) != 64:
            raise _invalid(f"unexpected hash length ({len(tx_hash) if isinstance(tx_hash, str) else 0})")
        try:
            binascii.unhexlify(tx_hash)
        except (binascii.Error, ValueError) as exc:
            raise _invalid(f"incorrect hash: {exc}") from exc
        record = self.ledger.get_transaction(tx_hash)
        hidden = (fault is not None and fault.action == "NOT_FOUND") or (
            record is not None and self.faults.hidden(tx_hash.lower())
        )
        answer: dict[str, Any] = {**self._range(), "txHash": tx_hash}
        if record is None or hidden:
            # Go marshals the zero values of these fields for NOT_FOUND too.
            answer.update(
                status="NOT_FOUND", applicationOrder=0, feeBump=False, events={}, ledger=0, createdAt="0"
            )
            return answer
        answer.update(_details(record))
        return answer


def _details(record: ApplyResult) -> dict[str, Any]:
    return {
        "status": "SUCCESS" if record.successful else "FAILED",
        "applicationOrder": record.application_order,
        "feeBump": record.fee_bump,
        "envelopeXdr": record.envelope_xdr,
        "resultXdr": record.result_xdr,
        "resultMetaXdr": record.result_meta_xdr,
        "events": {},
        "ledger": record.ledger,
        "createdAt": str(record.created_at),
    }


def _error(rid: Any, code: int, message: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}
