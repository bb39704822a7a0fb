"""Submitting one envelope to the network and deciding what every possible answer means.

Rules (SDF's): only the byte-identical envelope is ever resubmitted; after any ambiguous outcome
(timeout, dropped connection, ``tx_bad_seq``) the hash is looked up first, so a transaction that made
it into a ledger is never reported as failed. One call per attempt, no sleeping and no retries
here: "try later" and "accepted, not in a ledger yet" go back to the job, which schedules the next
attempt in the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.errors import UpstreamUnavailable
from app.jobs.limits import AdaptiveLimit
from app.ledger.accounts import NetworkClients
from app.ledger.outcomes import Found, LookupResult, SendResult, Sent
from app.ledger.results import ResultCodes


class Adapter(Protocol):
    """A network endpoint that submits and looks up transactions (RPC or Horizon)."""

    def send_transaction(self, envelope_xdr: str) -> SendResult: ...

    def find_transaction(self, tx_hash: str) -> LookupResult: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    # "success" | "failed" | "retry" | "pending" (accepted, waiting for a ledger) | "busy"
    # (TRY_AGAIN_LATER: the network holds another transaction of the source; never a failure)
    kind: str
    message: str = ""
    ledger: int | None = None
    codes: ResultCodes | None = None
    result_xdr: str | None = None
    # tx_bad_seq, not on the ledger, and the account's sequence (this) has moved past it.
    consumed_by_account: int | None = None

    @classmethod
    def retry(cls, message: str) -> Outcome:
        return cls("retry", message)


@dataclass(frozen=True, slots=True)
class Submission:
    envelope_xdr: str
    tx_hash: str  # the hash the network reports (the outer hash for a fee bump)
    source: str
    sequence: int
    previously_sent: bool  # an earlier attempt may have reached the network
    # The network accepted it and it is not in a ledger yet: look, but don't send it again (a
    # resend while it waits in the queue is a second submission of the same transaction).
    awaiting_ledger: bool = False


def _found(found: LookupResult) -> Outcome | None:
    if found.kind is Found.APPLIED:
        return Outcome("success", ledger=found.ledger, result_xdr=found.result_xdr,
                       codes=found.codes or ResultCodes("tx_success"))
    if found.kind is Found.FAILED and found.codes is not None:
        return Outcome("failed", found.message, found.ledger, found.codes, found.result_xdr)
    return None


class Submitter:
    """Submits through Stellar RPC when configured, else Horizon."""

    def __init__(self, clients: NetworkClients, limit: AdaptiveLimit,
                 load_sequence: Callable[[str], int | None]) -> None:
        adapter: Adapter | None = clients.rpc if clients.rpc is not None else clients.horizon
        if adapter is None:
            raise ValueError(f"network {clients.network.name} has neither rpc nor horizon")
        self.adapter = adapter
        self.limit = limit  # concurrent calls to this network, adapted (AIMD)
        self.load_sequence = load_sequence

    def submit(self, sub: Submission) -> Outcome:
        if sub.previously_sent:
            with self.limit.slot():
                looked = self.adapter.find_transaction(sub.tx_hash)
            found = _found(looked)
            if found is not None:
                return found
            if looked.kind is Found.UNKNOWN:
                # Only a definite "not found" allows sending again: after a failed lookup the
                # transaction may be applied or queued, and a blind resend puts it on the wire twice.
                return Outcome.retry(f"could not look the transaction up: {looked.message}")
            if sub.awaiting_ledger:
                return Outcome("pending", "accepted by the network but not yet in a ledger")
        with self.limit.slot():
            sent = self.adapter.send_transaction(sub.envelope_xdr)
        if sent.kind is Sent.APPLIED:
            self.limit.success()
            return Outcome("success", ledger=sent.ledger, result_xdr=sent.result_xdr,
                           codes=sent.codes or ResultCodes("tx_success"))
        if sent.kind in (Sent.PENDING, Sent.DUPLICATE):
            self.limit.success()
            return self.lookup(sub.tx_hash) or Outcome(
                "pending", "accepted by the network but not yet in a ledger")
        if sent.kind is Sent.TRY_AGAIN_LATER:
            self.limit.overload()
            return Outcome("busy", sent.message)
        if sent.kind is Sent.REJECTED and sent.codes is not None:
            self.limit.success()
            return self._rejected(sub, sent.codes, sent.result_xdr or "")
        if sent.timed_out:
            self.limit.overload()
        # Ambiguous: it may have been applied. The hash tells.
        return self.lookup(sub.tx_hash) or Outcome.retry(sent.message)

    def lookup(self, tx_hash: str) -> Outcome | None:
        """The final outcome if the network knows the transaction, else None."""
        with self.limit.slot():
            found = self.adapter.find_transaction(tx_hash)
        return _found(found)

    def _rejected(self, sub: Submission, codes: ResultCodes, result_xdr: str) -> Outcome:
        if "tx_bad_seq" in (codes.transaction, codes.inner):
            # Resubmitting an applied transaction also answers tx_bad_seq: check before failing.
            found = self.lookup(sub.tx_hash)
            if found is not None:
                return found
            try:
                current = self.load_sequence(sub.source)
            except UpstreamUnavailable as exc:
                return Outcome.retry(exc.message)
            if current is not None and current >= sub.sequence:
                return Outcome("failed", f"{codes.legacy_message()}: stale, the source account's "
                               f"sequence number ({current}) has moved past this transaction's "
                               f"({sub.sequence})", None, codes, result_xdr,
                               consumed_by_account=current)
        return Outcome("failed", codes.legacy_message(), None, codes, result_xdr)
