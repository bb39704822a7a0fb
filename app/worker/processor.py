"""One claimed transaction, from ready to processed or failed.

The record is the job: a worker holds it through an expiring lease (status ``processing``). A transient
failure re-schedules it by releasing the lease with a later ``lease_until``, so retries survive
restarts and can be picked up by any process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from app.errors import UpstreamUnavailable
from app.ledger.accounts import AccountSource
from app.settings import Settings
from app.stellar.envelope import ParsedEnvelope, Sig, attach_signatures, parse_envelope
from app.stellar.evaluation import accounts_to_load, evaluate
from app.store.base import TxStore
from app.txs.model import TxRecord, TxStatus
from app.txs.service import candidates
from app.webhooks.delivery import backoff_delay
from app.worker.callbacks import CallbackQueue
from app.worker.metrics import Metrics
from app.worker.submission import Outcome, Submission, Submitter

log = logging.getLogger("refractor.worker")
EXPIRED = "Transaction has already expired"


class TxProcessor:
    def __init__(self, settings: Settings, store: TxStore, accounts: AccountSource,
                 submitters: dict[str, Submitter], callbacks: CallbackQueue, metrics: Metrics,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.store = store
        self.accounts = accounts
        self.submitters = submitters
        self.callbacks = callbacks
        self.metrics = metrics
        self.clock = clock

    def process(self, record: TxRecord, owner: str) -> None:
        now = self.clock()
        sent_before = bool((record.result or {}).get("envelopeXdr"))
        if record.max_time and record.max_time < now and not sent_before:
            self._finish(record, owner, TxStatus.FAILED, {"error": EXPIRED})
            return
        if not record.submit:
            self._finish(record, owner, TxStatus.PROCESSED, {})
            return
        parsed = parse_envelope(record.xdr, self.settings.networks[record.network].passphrase)
        try:
            envelope = self._envelope(record, owner, parsed)
        except UpstreamUnavailable as exc:  # could not load the accounts: try again later
            self._retry(record, owner, exc.message, dict(record.result or {}))
            return
        if envelope is None:
            return
        submitter = self.submitters[record.network]
        inner = parsed.inner or parsed.shape
        outcome = submitter.submit(Submission(
            envelope_xdr=envelope, tx_hash=record.hash, source=inner.source,
            sequence=inner.sequence,
            previously_sent=record.attempts > 1 or sent_before))
        self._apply(record, owner, envelope, outcome)

    def _envelope(self, record: TxRecord, owner: str, parsed: ParsedEnvelope) -> str | None:
        """The envelope to send: the one sent before, byte for byte, or a fresh minimal one.

        Signers may have changed on-chain since the last signature, so readiness is checked again
        against account data no older than ``accountCacheTtl``."""
        earlier = (record.result or {}).get("envelopeXdr")
        if isinstance(earlier, str):
            return earlier
        stored = record.derived.get("xdr")
        if record.attempts > 1 and isinstance(stored, str):
            return stored  # an earlier attempt may have sent it: the same bytes again
        accounts = self.accounts.load(record.network, accounts_to_load(parsed))
        result = evaluate(parsed, accounts, candidates(record), record.desired_signers or ())
        if result.selected is None:
            derived = {**record.derived, "progress": result.progress}
            self.store.release(record.hash, owner, {"status": TxStatus.PENDING, "derived": derived,
                                                    "ready_at": None})
            log.warning("no longer fully signed; back to pending",
                        extra={"fields": {"hash": record.hash}})
            return None
        envelope = attach_signatures(record.xdr, [Sig(c.hint, c.signature) for c in result.selected])
        if envelope != stored:
            # Stored before the first send (the usual case needs no write: the record already
            # holds this envelope), so every retry resubmits exactly these bytes.
            record.derived = {**record.derived, "xdr": envelope}
            self.store.update_fields(record.hash, {"derived": record.derived})
        return envelope

    def _apply(self, record: TxRecord, owner: str, envelope: str, outcome: Outcome) -> None:
        now = self.clock()
        result: dict[str, Any] = {"envelopeXdr": envelope}
        if outcome.codes is not None:
            result.update(outcome.codes.to_json())
        result.update({"ledger": outcome.ledger, "resultXdr": outcome.result_xdr,
                       "successful": outcome.kind == "success"})
        derived = {**record.derived, "xdr": envelope}
        if outcome.kind == "success":
            if record.ready_at is not None:
                self.metrics.observe_submission(now - record.ready_at)
            self.metrics.count("submitted", record.network)
            self._finish(record, owner, TxStatus.PROCESSED,
                         {"submitted": int(now), "result": result, "derived": derived, "error": None})
        elif outcome.kind == "failed":
            self.metrics.count("submission_failed", record.network)
            self._finish(record, owner, TxStatus.FAILED,
                         {"error": outcome.message, "result": result, "derived": derived})
        else:
            self._retry(record, owner, outcome.message, result)

    def _retry(self, record: TxRecord, owner: str, message: str, result: dict[str, Any]) -> None:
        now = self.clock()
        w = self.settings.worker
        if record.attempts > w.retry_attempts:
            self._finish(record, owner, TxStatus.FAILED,
                         {"error": f"Failed to submit transaction: {message}", "result": result})
            return
        if record.max_time and record.max_time < now:
            self._finish(record, owner, TxStatus.FAILED, {"error": EXPIRED, "result": result})
            return
        self.metrics.count("retried", record.network)
        delay = backoff_delay(record.attempts, w.retry_delay_ms)
        self.store.release(record.hash, owner, {"lease_until": now + delay,
                                                "result": {**result, "lastError": message}})

    def _finish(self, record: TxRecord, owner: str, status: TxStatus, fields: dict[str, Any]) -> None:
        fields = {"updated_at": self.clock(), **fields}
        if not self.store.release(record.hash, owner, {"status": status, **fields}):
            log.warning("lease lost before finishing", extra={"fields": {"hash": record.hash}})
            return
        self.metrics.count(status.value, record.network)
        if record.callback_url:
            final = self.store.get(record.hash, by_inner=False)
            if final is not None:
                self.callbacks.enqueue(final)
