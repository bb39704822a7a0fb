"""Scripted misbehaviour for the next calls of a method, plus per-method request counters.

Method keys are JSON-RPC method names ("sendTransaction", "getTransaction", ...) and Horizon
routes ("POST /transactions", "POST /transactions_async", "GET /transactions",
"GET /accounts", "GET /").

Fault kinds:
  "drop"                 close the connection without answering (nothing is processed)
  "timeout"              sleep `seconds`, then answer normally
  "httpNNN"              answer HTTP NNN without processing (e.g. "http500", "http504")
  "TRY_AGAIN_LATER", "DUPLICATE", "PENDING", "ERROR"
                         sendTransaction / POST /transactions_async answer that status
                         without applying anything ("ERROR" carries no result XDR)
  "NOT_FOUND"            a lookup answers not found even if the entry exists
  "rpc_error"            a JSON-RPC error object with `code` and `message`
  "apply_then_<kind>"    process the call for real (the transaction is applied), then behave
                         as <kind>: drop, httpNNN, or one of the submission statuses above
"""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass
from typing import Any

RPC_METHODS = frozenset(
    {
        "getHealth",
        "getNetwork",
        "getLatestLedger",
        "getLedgerEntries",
        "sendTransaction",
        "getTransaction",
        "getFeeStats",
        "getVersionInfo",
    }
)
HORIZON_ROUTES = frozenset(
    {"GET /", "GET /accounts", "POST /transactions", "POST /transactions_async", "GET /transactions"}
)
STATUSES = frozenset({"TRY_AGAIN_LATER", "DUPLICATE", "PENDING", "ERROR"})
_SIMPLE = frozenset({"drop", "timeout", "NOT_FOUND", "rpc_error"}) | STATUSES
_HTTP = re.compile(r"http([1-5]\d\d)$")


@dataclass(frozen=True)
class Fault:
    kind: str
    seconds: float = 5.0
    code: int = -32603
    message: str = "injected fault"

    @property
    def applies_first(self) -> bool:
        return self.kind.startswith("apply_then_")

    @property
    def action(self) -> str:
        """The behaviour once the optional real processing is done."""
        return self.kind.removeprefix("apply_then_")

    @property
    def http_status(self) -> int | None:
        match = _HTTP.match(self.action)
        return int(match.group(1)) if match else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _valid_kind(kind: str) -> bool:
    action = kind.removeprefix("apply_then_")
    if kind.startswith("apply_then_"):
        return action == "drop" or action in STATUSES or bool(_HTTP.match(action))
    return action in _SIMPLE or bool(_HTTP.match(action))


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, deque[Fault]] = {}
        self._requests: Counter[str] = Counter()
        self._hidden_polls = 0
        self._polls: Counter[str] = Counter()

    def add(
        self,
        method: str,
        kind: str,
        times: int = 1,
        *,
        seconds: float = 5.0,
        code: int = -32603,
        message: str = "injected fault",
    ) -> None:
        """Queue `kind` for the next `times` calls of `method` (after anything already queued)."""
        if method not in RPC_METHODS and method not in HORIZON_ROUTES:
            raise ValueError(f"unknown method {method!r}; use one of {sorted(RPC_METHODS | HORIZON_ROUTES)}")
        if not _valid_kind(kind):
            raise ValueError(f"unknown fault kind {kind!r}")
        if times < 1:
            raise ValueError("times must be at least 1")
        fault = Fault(kind, seconds, code, message)
        with self._lock:
            self._queues.setdefault(method, deque()).extend([fault] * times)

    def take(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._queues.get(method)
            return queue.popleft() if queue else None

    def pending(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {m: [f.to_json() for f in q] for m, q in self._queues.items() if q}

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self._hidden_polls = 0
            self._polls.clear()

    def hide_results(self, polls: int) -> None:
        """Every transaction hash answers not found to its first `polls` lookups (getTransaction
        and GET /transactions/{hash} share the count), like a result still being ingested."""
        with self._lock:
            self._hidden_polls = polls
            self._polls.clear()

    def hidden(self, tx_hash: str) -> bool:
        with self._lock:
            if self._polls[tx_hash] >= self._hidden_polls:
                return False
            self._polls[tx_hash] += 1
            return True

    def count(self, method: str) -> None:
        with self._lock:
            self._requests[method] += 1

    def requests(self) -> dict[str, int]:
        with self._lock:
            return dict(self._requests)

    def reset_counts(self) -> None:
        with self._lock:
            self._requests.clear()
