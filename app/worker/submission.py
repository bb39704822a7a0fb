"""Submitting one envelope to the network and classifying every possible answer.

Rules (SDF's): only the byte-identical envelope is ever resubmitted; after any ambiguous outcome
(timeout, dropped connection, ``tx_bad_seq``) the hash is looked up first, so a transaction that made
it into a ledger is never reported as failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import UpstreamUnavailable
from app.ledger.accounts import NetworkClients
from app.ledger.rpc import RpcError
from app.worker.limits import AdaptiveLimit
from app.worker.results import ResultCodes, decode_result


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str  # "success" | "failed" | "retry"
    message: str = ""
    ledger: int | None = None
    codes: ResultCodes | None = None
    result_xdr: str | None = None

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


class Submitter:
    """Submits through Stellar RPC when configured, else Horizon."""

    def __init__(self, clients: NetworkClients, limit: AdaptiveLimit,
                 load_sequence: Callable[[str], int | None], poll_seconds: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.clients = clients
        self.limit = limit
        self.load_sequence = load_sequence
        self.poll_seconds = poll_seconds
        self.sleep = sleep

    def submit(self, sub: Submission) -> Outcome:
        try:
            if sub.previously_sent:
                found = self.lookup(sub.tx_hash)
                if found is not None:
                    return found
            if self.clients.rpc is not None:
                return self._submit_rpc(sub)
            return self._submit_horizon(sub)
        except UpstreamUnavailable as exc:
            self.limit.overload()
            return self._after_ambiguity(sub, exc.message)

    def _after_ambiguity(self, sub: Submission, message: str) -> Outcome:
        try:
            found = self.lookup(sub.tx_hash)
        except UpstreamUnavailable:
            found = None
        return found or Outcome.retry(message)

    # -- Stellar RPC --

    def _submit_rpc(self, sub: Submission) -> Outcome:
        assert self.clients.rpc is not None
        with self.limit.slot():
            try:
                answer = self.clients.rpc.send_transaction(sub.envelope_xdr)
            except RpcError as exc:
                return Outcome.retry(str(exc))
        self.limit.success()
        status = answer.get("status")
        if status in ("PENDING", "DUPLICATE"):
            return self._poll(sub)
        if status == "TRY_AGAIN_LATER":
            return Outcome.retry("network asked to try again later (TRY_AGAIN_LATER)")
        if status == "ERROR" and answer.get("errorResultXdr"):
            codes = decode_result(str(answer["errorResultXdr"]))
            return self._failed(sub, codes, str(answer["errorResultXdr"]))
        return Outcome.retry(f"unexpected sendTransaction answer: {status}")

    def _poll(self, sub: Submission) -> Outcome:
        deadline = time.monotonic() + self.poll_seconds
        delay = 0.2
        while True:
            found = self.lookup(sub.tx_hash)
            if found is not None:
                return found
            if time.monotonic() + delay > deadline:
                return Outcome.retry("accepted by the network but not yet in a ledger")
            self.sleep(delay)
            delay = min(delay * 2, 2.0)

    # -- Horizon --

    def _submit_horizon(self, sub: Submission) -> Outcome:
        assert self.clients.horizon is not None
        with self.limit.slot():
            response = self.clients.horizon.submit(sub.envelope_xdr)
        self.limit.success()
        if response.status_code == 200:
            body = response.json()
            return Outcome("success", ledger=body.get("ledger"), result_xdr=body.get("result_xdr"),
                           codes=ResultCodes("tx_success"))
        if response.status_code == 504:
            return self._after_ambiguity(sub, "Horizon timed out waiting for a ledger")
        extras = _json(response).get("extras")
        result_xdr = extras.get("result_xdr") if isinstance(extras, dict) else None
        if response.status_code == 400 and isinstance(result_xdr, str):
            return self._failed(sub, decode_result(result_xdr), result_xdr)
        return Outcome.retry(f"Horizon answered HTTP {response.status_code}")

    # -- shared --

    def lookup(self, tx_hash: str) -> Outcome | None:
        """The final outcome if the network knows the transaction, else None."""
        if self.clients.rpc is not None:
            with self.limit.slot():
                try:
                    found = self.clients.rpc.get_transaction(tx_hash)
                except RpcError:
                    return None
            status = found.get("status")
            if status == "SUCCESS":
                return Outcome("success", ledger=found.get("ledger"),
                               result_xdr=found.get("resultXdr"), codes=ResultCodes("tx_success"))
            if status == "FAILED" and found.get("resultXdr"):
                codes = decode_result(str(found["resultXdr"]))
                return Outcome("failed", codes.legacy_message(), found.get("ledger"), codes,
                               str(found["resultXdr"]))
            return None
        assert self.clients.horizon is not None
        with self.limit.slot():
            response = self.clients.horizon.get_transaction(tx_hash)
        if response.status_code != 200:
            return None
        body = response.json()
        decoded = decode_result(body["result_xdr"]) if body.get("result_xdr") else None
        if body.get("successful"):
            return Outcome("success", ledger=body.get("ledger"), result_xdr=body.get("result_xdr"),
                           codes=decoded or ResultCodes("tx_success"))
        if decoded is not None:
            return Outcome("failed", decoded.legacy_message(), body.get("ledger"), decoded,
                           body.get("result_xdr"))
        return None

    def _failed(self, sub: Submission, codes: ResultCodes, result_xdr: str) -> Outcome:
        if "tx_bad_seq" in (codes.transaction, codes.inner):
            # Resubmitting an applied transaction also answers tx_bad_seq: check before failing.
            found = self.lookup(sub.tx_hash)
            if found is not None:
                return found
            current = self.load_sequence(sub.source)
            if current is not None and current >= sub.sequence:
                return Outcome("failed", f"{codes.legacy_message()}: stale, the source account's "
                               f"sequence number ({current}) has moved past this transaction's "
                               f"({sub.sequence})", None, codes, result_xdr)
        return Outcome("failed", codes.legacy_message(), None, codes, result_xdr)


def _json(response: object) -> dict[str, object]:
    try:
        body = response.json()  # type: ignore[attr-defined]
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
