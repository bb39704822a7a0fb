"""JSON control API under /_fake, so another process can script the fake.

POST   /_fake/accounts            create or replace an account (body: see account_from_json)
GET    /_fake/accounts            all accounts
GET    /_fake/accounts/{id}       one account, 404 if missing
GET    /_fake/submissions         every envelope received (?hash=... filters)
GET    /_fake/transactions/{hash} an applied transaction's record
GET    /_fake/faults              queued faults
POST   /_fake/faults              {"method", "kind", "times"?, "seconds"?, "code"?, "message"?}
                                  or {"hide_results": N}
DELETE /_fake/faults              drop every queued fault
POST   /_fake/time                {"offset": s} sets, {"advance": s} adds; answers the clock
POST   /_fake/ledger              {"close": n} closes n empty ledgers, {"sequence": n} jumps
GET    /_fake/queue               the transaction queue: {"seconds", "horizon_wait", "queued"}
POST   /_fake/queue               {"seconds": s} keeps admitted transactions queued s seconds
                                  (0: applied at once, the default; null: until released),
                                  {"horizon_wait": s}, {"release": true} applies the queue now
GET    /_fake/stats               request counters and totals
POST   /_fake/reset               forget history, faults and counters; {"accounts": true}
                                  also drops every account
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from .faults import Faults
from .ledger import Ledger
from .model import Account
from .wire import Reply, json_reply


def account_from_json(ledger: Ledger, data: Mapping[str, Any]) -> Account:
    """{"id" | "account_id", "seq"?, "balance"?, "master_weight"?, "low"?, "med"?, "high"?
    (or "thresholds": {"low", "med", "high"}), "signers"?: [{"key", "weight"}]}"""
    account_id = data.get("id") or data.get("account_id")
    if not isinstance(account_id, str):
        raise ValueError("account needs an 'id'")
    thresholds = data.get("thresholds") or {}
    kwargs: dict[str, Any] = {}
    for name in ("low", "med", "high"):
        value = data.get(name, thresholds.get(name, thresholds.get(f"{name}_threshold")))
        if value is not None:
            kwargs[name] = int(value)
    seq = data.get("seq", data.get("sequence"))
    if seq is not None:
        kwargs["seq"] = int(seq)
    if data.get("balance") is not None:
        kwargs["balance"] = int(data["balance"])
    if data.get("master_weight") is not None:
        kwargs["master_weight"] = int(data["master_weight"])
    signers = [(s["key"], int(s["weight"])) for s in data.get("signers") or []]
    return ledger.create_account(account_id, signers=signers, **kwargs)


def load_accounts(ledger: Ledger, items: Iterable[Mapping[str, Any]]) -> list[Account]:
    return [account_from_json(ledger, item) for item in items]


class ControlApi:
    def __init__(self, ledger: Ledger, faults: Faults) -> None:
        self.ledger = ledger
        self.faults = faults

    def handle(self, verb: str, path: str, query: str, body: bytes) -> Reply:
        parts = [p for p in path.split("/") if p]
        try:
            data = json.loads(body) if body else {}
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            return self._route(verb, parts, parse_qs(query), data)
        except (ValueError, KeyError, TypeError) as exc:
            return json_reply({"error": str(exc)}, 400)

    def _route(self, verb: str, parts: list[str], query: dict[str, list[str]], data: dict[str, Any]) -> Reply:
        head = parts[0] if parts else ""
        ledger = self.ledger
        if head == "accounts" and verb == "POST" and len(parts) == 1:
            return json_reply(account_from_json(ledger, data).to_json())
        if head == "accounts" and verb == "GET":
            if len(parts) == 1:
                return json_reply({"accounts": [a.to_json() for a in ledger.accounts()]})
            account = ledger.get_account(parts[1])
            return json_reply(account.to_json()) if account else json_reply({"error": "not found"}, 404)
        if head == "submissions" and verb == "GET":
            wanted = query.get("hash", [None])[0]
            subs = ledger.submissions_of(wanted) if wanted else ledger.submissions
            return json_reply({"submissions": [s.to_json() for s in subs]})
        if head == "transactions" and verb == "GET" and len(parts) == 2:
            record = ledger.get_transaction(parts[1])
            return json_reply(record.to_json()) if record else json_reply({"error": "not found"}, 404)
        if head == "faults":
            return self._faults(verb, data)
        if head == "time" and verb == "POST":
            if "offset" in data:
                ledger.time_offset = float(data["offset"])
            if "advance" in data:
                ledger.advance_time(float(data["advance"]))
            return json_reply({"offset": ledger.time_offset, "close_time": ledger.close_time()})
        if head == "ledger" and verb == "POST":
            if "sequence" in data:
                ledger.sequence = int(data["sequence"])
            if "close" in data:
                ledger.close_ledger(int(data["close"]))
            return json_reply({"sequence": ledger.sequence})
        if head == "queue" and verb in ("GET", "POST"):
            if "seconds" in data:
                seconds = data["seconds"]
                ledger.queue_seconds = None if seconds is None else max(0.0, float(seconds))
            if "horizon_wait" in data:
                ledger.horizon_wait = float(data["horizon_wait"])
            released = [r.to_json() for r in ledger.release()] if data.get("release") else []
            return json_reply(
                {
                    "seconds": ledger.queue_seconds,
                    "horizon_wait": ledger.horizon_wait,
                    "queued": [q.to_json() for q in ledger.queued()],
                    "released": released,
                }
            )
        if head == "stats" and verb == "GET":
            return json_reply(self.stats())
        if head == "reset" and verb == "POST":
            ledger.reset(accounts=bool(data.get("accounts")))
            self.faults.clear()
            self.faults.reset_counts()
            return json_reply(self.stats())
        return json_reply({"error": f"no route {verb} /_fake/{'/'.join(parts)}"}, 404)

    def _faults(self, verb: str, data: dict[str, Any]) -> Reply:
        if verb == "DELETE":
            self.faults.clear()
        elif verb == "POST" and "hide_results" in data:
            self.faults.hide_results(int(data["hide_results"]))
        elif verb == "POST":
            self.faults.add(
                data["method"],
                data["kind"],
                int(data.get("times", 1)),
                seconds=float(data.get("seconds", 5.0)),
                code=int(data.get("code", -32603)),
                message=str(data.get("message", "injected fault")),
            )
        elif verb != "GET":
            return json_reply({"error": "use GET, POST or DELETE"}, 405)
        return json_reply({"faults": self.faults.pending()})

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.faults.requests(),
            "submissions": len(self.ledger.submissions),
            "transactions": len(self.ledger.transactions()),
            "ledger": self.ledger.sequence,
            "close_time": self.ledger.close_time(),
        }
