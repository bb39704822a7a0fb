"""Horizon REST client: accounts, transaction submission and lookup."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from app.errors import UpstreamUnavailable
from app.stellar.accounts import AccountData, AccountSigner


class HorizonClient:
    def __init__(self, url: str, http: httpx.Client) -> None:
        self.url = url.rstrip("/")
        self.http = http

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, self.url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"Horizon unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429 or (response.status_code >= 500
                                           and response.status_code != 504):
            raise UpstreamUnavailable(f"Horizon answered HTTP {response.status_code}")
        return response

    def latest_ledger(self) -> tuple[int, int]:
        """(sequence, close time) of the latest ledger Horizon has ingested."""
        response = self._request("GET", "/")
        body = response.json() if response.status_code == 200 else None
        if not isinstance(body, dict) or not isinstance(body.get("history_latest_ledger"), int):
            raise UpstreamUnavailable(f"Horizon answered HTTP {response.status_code} for its root")
        closed = body.get("history_latest_ledger_closed_at")
        try:
            close_time = int(datetime.fromisoformat(str(closed).replace("Z", "+00:00")).timestamp())
        except ValueError:
            close_time = 0
        return int(body["history_latest_ledger"]), close_time

    def get_account(self, account_id: str) -> AccountData | None:
        response = self._request("GET", f"/accounts/{account_id}")
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise UpstreamUnavailable(f"Horizon answered HTTP {response.status_code} for an account")
        return account_from_json(response.json())

    def submit(self, envelope_xdr: str) -> httpx.Response:
        return self._request("POST", "/transactions", data={"tx": envelope_xdr})

    def get_transaction(self, tx_hash: str) -> httpx.Response:
        return self._request("GET", f"/transactions/{tx_hash}")


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
