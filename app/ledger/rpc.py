"""Stellar RPC (JSON-RPC 2.0) client: account entries, sendTransaction, getTransaction."""

from __future__ import annotations

from typing import Any

from stellar_sdk import Keypair
from stellar_sdk import xdr as stellar_xdr

from app.errors import UpstreamUnavailable
from app.ledger.http import LedgerHttp, Timeout, TransportError
from app.ledger.outcomes import Found, LookupResult, SendResult, Sent
from app.ledger.results import ResultCodes, decode_result
from app.stellar.accounts import AccountData, AccountSigner
from app.stellar.signers import signer_key_from_xdr

BATCH = 200  # getLedgerEntries accepts at most 200 keys per request


class RpcError(Exception):
    """The RPC server answered with a JSON-RPC error (not a transport failure)."""


class RpcClient:
    def __init__(self, url: str, http: LedgerHttp) -> None:
        self.url = url
        self.http = http
        self._next_id = 0

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        body = {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params or {}}
        try:
            response = self.http.post_json(self.url, body)
        except TransportError as exc:
            raise UpstreamUnavailable(f"Stellar RPC unreachable: {exc.kind}") from exc
        if response.status >= 500 or response.status == 429:
            raise UpstreamUnavailable(f"Stellar RPC answered HTTP {response.status}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise UpstreamUnavailable("Stellar RPC answered with invalid JSON") from exc
        if not isinstance(payload, dict):
            raise UpstreamUnavailable("Stellar RPC answered with invalid JSON")
        if "error" in payload:
            error = payload["error"] or {}
            raise RpcError(f"RPC error: {error.get('message', error)}")
        result = payload.get("result")
        if not isinstance(result, dict):
            raise UpstreamUnavailable("Stellar RPC answered without a result")
        return result

    def latest_ledger(self) -> tuple[int, int]:
        """(sequence, close time) of the latest closed ledger; close time 0 if not told."""
        result = self.call("getLatestLedger")
        sequence = result.get("sequence")
        if not isinstance(sequence, int) or isinstance(sequence, bool):
            raise UpstreamUnavailable("Stellar RPC answered getLatestLedger without a sequence")
        close = result.get("closeTime")
        if isinstance(close, str) and close.isdigit():
            return sequence, int(close)
        header = result.get("headerXdr")
        if isinstance(header, str):
            try:
                close_time = stellar_xdr.LedgerHeader.from_xdr(header).scp_value.close_time
                return sequence, int(close_time.time_point.uint64)
            except Exception:  # older servers send other shapes: the caller uses its own clock
                pass
        return sequence, 0

    def get_accounts(self, account_ids: list[str]) -> dict[str, AccountData]:
        return self.read_accounts(account_ids)[0]

    def read_accounts(self, account_ids: list[str]) -> tuple[dict[str, AccountData], int | None]:
        """The accounts found, and the ledger they were read at (``latestLedger`` of the
        answer; None if the server did not say, or for more than one batch)."""
        found: dict[str, AccountData] = {}
        ledger: int | None = None
        for start in range(0, len(account_ids), BATCH):
            batch = account_ids[start : start + BATCH]
            keys = [_account_key(a) for a in batch]
            result = self.call("getLedgerEntries", {"keys": keys})
            latest = result.get("latestLedger")
            ok = isinstance(latest, int) and not isinstance(latest, bool) and start == 0
            ledger = latest if ok else None
            for entry in result.get("entries") or []:
                data = stellar_xdr.LedgerEntryData.from_xdr(entry["xdr"])
                if data.account is not None:
                    account = _account_from_entry(data.account)
                    found[account.account_id] = account
        return found, ledger

    def send_transaction(self, envelope_xdr: str) -> SendResult:
        """sendTransaction once, its answer classified."""
        try:
            answer = self.call("sendTransaction", {"transaction": envelope_xdr})
        except RpcError as exc:
            return SendResult(Sent.UNKNOWN, str(exc))
        except UpstreamUnavailable as exc:
            return SendResult(Sent.UNKNOWN, exc.message,
                              timed_out=isinstance(exc.__cause__, Timeout))
        status = answer.get("status")
        if status == "PENDING":
            return SendResult(Sent.PENDING)
        if status == "DUPLICATE":
            return SendResult(Sent.DUPLICATE)
        if status == "TRY_AGAIN_LATER":
            return SendResult(Sent.TRY_AGAIN_LATER,
                              "network asked to try again later (TRY_AGAIN_LATER)")
        error_xdr = answer.get("errorResultXdr")
        if status == "ERROR" and isinstance(error_xdr, str) and error_xdr:
            return SendResult(Sent.REJECTED, result_xdr=error_xdr, codes=decode_result(error_xdr))
        return SendResult(Sent.UNKNOWN, f"unexpected sendTransaction answer: {status}")

    def find_transaction(self, tx_hash: str) -> LookupResult:
        try:
            found = self.call("getTransaction", {"hash": tx_hash})
        except (RpcError, UpstreamUnavailable) as exc:
            return LookupResult(Found.UNKNOWN, str(exc))
        status = found.get("status")
        ledger = found.get("ledger")
        ledger = ledger if isinstance(ledger, int) else None
        result_xdr = found.get("resultXdr")
        result_xdr = result_xdr if isinstance(result_xdr, str) and result_xdr else None
        if status == "SUCCESS":
            return LookupResult(Found.APPLIED, ledger=ledger, result_xdr=result_xdr,
                                codes=ResultCodes("tx_success"))
        if status == "FAILED" and result_xdr:
            codes = decode_result(result_xdr)
            return LookupResult(Found.FAILED, codes.legacy_message(), ledger, result_xdr, codes)
        if status == "NOT_FOUND":
            return LookupResult(Found.NOT_FOUND)
        return LookupResult(Found.UNKNOWN, f"unexpected getTransaction answer: {status}")


def _account_key(account_id: str) -> str:
    key = stellar_xdr.LedgerKey(
        type=stellar_xdr.LedgerEntryType.ACCOUNT,
        account=stellar_xdr.LedgerKeyAccount(
            account_id=Keypair.from_public_key(account_id).xdr_account_id()
        ),
    )
    return str(key.to_xdr())


def _account_from_entry(entry: stellar_xdr.AccountEntry) -> AccountData:
    raw_key = entry.account_id.account_id.ed25519
    assert raw_key is not None  # account ids are always ed25519 keys
    account_id = str(Keypair.from_raw_ed25519_public_key(raw_key.uint256).public_key)
    master, low, med, high = bytes(entry.thresholds.thresholds)[:4]
    signers = tuple(
        AccountSigner(signer_key_from_xdr(s.key), int(s.weight.uint32)) for s in entry.signers
    )
    seq_ledger, seq_time = _sequence_change(entry)
    return AccountData(account_id, int(entry.seq_num.sequence_number.int64), master, low, med, high,
                       signers, seq_ledger=seq_ledger, seq_time=seq_time)


def _sequence_change(entry: stellar_xdr.AccountEntry) -> tuple[int, int]:
    """seqLedger and seqTime from the v1 -> v2 -> v3 extension chain (0, 0 without it)."""
    v1 = entry.ext.v1 if entry.ext.v == 1 else None
    v2 = v1.ext.v2 if v1 is not None and v1.ext.v == 2 else None
    v3 = v2.ext.v3 if v2 is not None and v2.ext.v == 3 else None
    if v3 is None:
        return 0, 0
    return int(v3.seq_ledger.uint32), int(v3.seq_time.time_point.uint64)
