"""What the network said about a submission or a lookup, typed: the adapters never hand back a raw
HTTP response and never retry by themselves; the submission job decides with its retry policy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.ledger.results import ResultCodes


class Sent(StrEnum):
    APPLIED = "applied"  # in a ledger, successful (Horizon's synchronous answer)
    PENDING = "pending"  # accepted, not in a ledger yet
    DUPLICATE = "duplicate"  # already known to the network
    TRY_AGAIN_LATER = "try_again_later"  # not accepted now (queue full, rate limited)
    REJECTED = "rejected"  # refused or failed, with result codes
    UNKNOWN = "unknown"  # no answer we can trust (timeout, dropped connection, 5xx)


@dataclass(frozen=True, slots=True)
class SendResult:
    kind: Sent
    message: str = ""
    ledger: int | None = None
    result_xdr: str | None = None
    codes: ResultCodes | None = None
    timed_out: bool = False  # UNKNOWN because the call ran out of time


class Found(StrEnum):
    APPLIED = "applied"  # in a ledger, successful
    FAILED = "failed"  # in a ledger, failed (the sequence number is consumed)
    NOT_FOUND = "not_found"
    UNKNOWN = "unknown"  # the lookup itself failed


@dataclass(frozen=True, slots=True)
class LookupResult:
    kind: Found
    message: str = ""
    ledger: int | None = None
    result_xdr: str | None = None
    codes: ResultCodes | None = None
