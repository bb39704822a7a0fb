"""Horizon REST client: accounts, transaction submission and lookup."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.errors import UpstreamUnavailable
from app.ledger.http import LedgerHttp, Response, Timeout, TransportError
from app.ledger.outcomes import Found, LookupResult, SendResult, Sent
from app.ledger.results import ResultCodes, decode_result
from app.stellar.accounts import AccountData, AccountSigner


class HorizonClient:
    def __init__(self, url: str, http: LedgerHttp) -> None:
        self.url = url.rstrip("/")
        self.http = http

    def _get(self, path: str) -> Response:
        try:
            response = self.http.get(self.url + path)
        except TransportError as exc:
            raise UpstreamUnavailable(f"Horizon unreachable: {exc.kind}") from exc
        if response.status == 429 or (response.status >= 500 and response.status != 504):
            raise UpstreamUnavailable(f"Horizon answered HTTP {response.status}")
        return response

    def latest_ledger(self) -> tuple[int, int]:
        """(sequence, close time) of the latest ledger Horizon has ingested."""
        response = self._get("/")
        body = _json(response) if response.status == 200 else None
        if not isinstance(body, dict) or not isinstance(body.get("history_latest_ledger"), int):
            raise UpstreamUnavailable(f"Horizon answered HTTP {response.status} for its root")
        closed = body.get("history_latest_ledger_closed_at")
        try:
            close_time = int(datetime.fromisoformat(str(closed).replace("Z", "+00:00")).timestamp())
        except ValueError:
            close_time = 0
        return int(body["history_latest_ledger"]), close_time

    def get_account(self, account_id: str) -> AccountData | None:
        response = self._get(f"/accounts/{account_id}")
        if response.status == 404:
            return None
        body = _json(response) if response.status == 200 else None
        if not body:
            raise UpstreamUnavailable(f"Horizon answered HTTP {response.status} for an account")
        return account_from_json(body)

    def send_transaction(self, envelope_xdr: str) -> SendResult:
        """POST /transactions once: Horizon waits for the ledger, so success means applied."""
        try:
            response = self.http.post_form(self.url + "/transactions", {"tx": envelope_xdr})
        except Timeout as exc:
            return SendResult(Sent.UNKNOWN, f"Horizon timed out ({exc.kind})", timed_out=True)
        except TransportError as exc:
            return SendResult(Sent.UNKNOWN, f"Horizon unreachable: {exc.kind}")
        status = response.status
        body = _json(response)
        if status == 200:
            result_xdr = body.get("result_xdr")
            return SendResult(Sent.APPLIED, ledger=_int(body.get("ledger")),
                              result_xdr=result_xdr if isinstance(result_xdr, str) else None,
                              codes=ResultCodes("tx_success"))
        if status == 504:
            return SendResult(Sent.UNKNOWN, "Horizon timed out waiting for a ledger",
                              timed_out=True)
        extras = body.get("extras")
        result_xdr = extras.get("result_xdr") if isinstance(extras, dict) else None
        if status == 400 and isinstance(result_xdr, str):
            return SendResult(Sent.REJECTED, result_xdr=result_xdr,
                              codes=decode_result(result_xdr))
        if status in (429, 503):
            return SendResult(Sent.TRY_AGAIN_LATER, f"Horizon answered HTTP {status}")
        return SendResult(Sent.UNKNOWN, f"Horizon answered HTTP {status}")

    def find_transaction(self, tx_hash: str) -> LookupResult:
        try:
            response = self.http.get(f"{self.url}/transactions/{tx_hash}")
        except TransportError as exc:
            return LookupResult(Found.UNKNOWN, f"Horizon unreachable: {exc.kind}")
        if response.status == 404:
            return LookupResult(Found.NOT_FOUND)
        if response.status != 200:
            return LookupResult(Found.UNKNOWN, f"Horizon answered HTTP {response.status}")
        body = _json(response)
        result_xdr = body.get("result_xdr")
        decoded = decode_result(result_xdr) if isinstance(result_xdr, str) else None
        ledger = _int(body.get("ledger"))
        xdr_text = result_xdr if isinstance(result_xdr, str) else None
        if body.get("successful"):
            return LookupResult(Found.APPLIED, ledger=ledger, result_xdr=xdr_text,
                                codes=decoded or ResultCodes("tx_success"))
        if decoded is not None:
            return LookupResult(Found.FAILED, decoded.legacy_message(), ledger, xdr_text, decoded)
        return LookupResult(Found.UNKNOWN, "Horizon answered without a result")


def _json(response: Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def account_from_json(body: dict[str, Any]) -> AccountData:
    account_id = body["account_id"] if "account_id" in body else body["id"]
    thresholds = body.get("thresholds", {})
    master = 0
    others = []
    for s in body.get("signers", []):
        if s["key"] == account_id:
            master = int(s["weight"])
        else:
            others.append(AccountSigner(s["key"], int(s["weight"])))
    return AccountData(
        account_id,
        int(body.get("sequence", 0)),
        master,
        int(thresholds.get("low_threshold", 0)),
        int(thresholds.get("med_threshold", 0)),
        int(thresholds.get("high_threshold", 0)),
        tuple(others),
        seq_ledger=int(body.get("sequence_ledger") or 0),
        seq_time=int(body.get("sequence_time") or 0),
    )
