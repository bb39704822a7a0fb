"""The ``submit_transaction`` job: one ready transaction, to processed or failed.

The job (in the jobs store) carries the schedule and the lease; the record carries what users see:
``processing`` while an attempt runs, ``ready`` with ``next_attempt_at`` while a retry waits,
then ``processed`` or ``failed``. Every write to the record is preceded by a lease check
(``JobContext.require``) and conditional on the record still being ``processing``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from app.errors import UpstreamUnavailable
from app.jobs.model import Dead, Done, Job, Outcome, Retry, RunAt
from app.jobs.runner import JobContext
from app.ledger.accounts import AccountSource
from app.settings import Settings
from app.stellar.envelope import ParsedEnvelope, Sig, attach_signatures, parse_envelope
from app.stellar.evaluation import accounts_to_load, evaluate
from app.store.base import TxStore
from app.txs import reasons
from app.txs.model import TxRecord, TxStatus
from app.txs.service import candidates
from app.worker.endings import Endings
from app.worker.metrics import Metrics
from app.worker.sequencing_jobs import Sequencing
from app.worker.submission import Outcome as Sent
from app.worker.submission import Submission, Submitter
from app.worker.sweeps import EXPIRED

log = logging.getLogger("refractor.worker")
# While the network holds a transaction it accepted but has not put in a ledger yet, it is looked
# up again after this many seconds, up to PENDING_CHECKS times before that counts as a failure.
PENDING_RECHECK = 1.0
PENDING_CHECKS = 30


class TxProcessor:
    def __init__(self, settings: Settings, store: TxStore, accounts: AccountSource,
                 submitters: dict[str, Submitter], endings: Endings,
                 metrics: Metrics, sequencing: Sequencing | None = None) -> None:
        self.settings = settings
        # Per-source ordering: a ready record goes only when it is the lowest eligible one of
        # its source (see app/worker/sequencing_jobs.py).
        self.sequencing = sequencing
        self.store = store
        self.accounts = accounts
        self.submitters = submitters
        # Every end (metrics, events, callback) goes through it.
        self.endings = endings
        self.metrics = metrics

    def __call__(self, job: Job, ctx: JobContext) -> Outcome:
        record = self.store.get(job.ref or "", by_inner=False)
        if record is None or record.status not in (TxStatus.READY, TxStatus.PROCESSING):
            return Done()  # deleted, back to pending, or finished by an earlier holder
        now = ctx.now()
        # Processing already: an earlier run moved it there and never ended it, so it may have
        # sent it. A retry after an internal error, or the job taken over from a holder whose
        # lease ran out (it crashed, stalled on a loaded machine or lost the store), which
        # continues that holder's attempt and so is not told apart by ``job.attempts``.
        maybe_sent = record.status is TxStatus.PROCESSING
        if maybe_sent:
            # The earlier holder's send may still be on the way, for up to the network timeout.
            # Looked up only once that has passed, so a lookup that misses an in-flight send
            # never leads to a second send.
            settled = record.updated_at + self.settings.network_timeout + 1.0
            if now < settled:
                return RunAt(settled, entry={"takenOver": round(now, 3)})
        if record.status is TxStatus.READY:
            if record.min_time and record.min_time > now:
                return RunAt(float(record.min_time))
            if self.sequencing is not None:
                held = self.sequencing.gate(record, ctx)
                if held is not None:
                    return held
            ctx.require()
            if not self.store.transition(record.hash, TxStatus.READY, TxStatus.PROCESSING,
                                         {"next_attempt_at": None, "updated_at": now}):
                return Done()  # changed under us (expired, say): nothing left to submit
            record.status = TxStatus.PROCESSING
        return self.process(record, job, ctx, maybe_sent)

    def process(self, record: TxRecord, job: Job, ctx: JobContext,
                maybe_sent: bool = False) -> Outcome:
        now = ctx.now()
        sent_before = bool((record.result or {}).get("envelopeXdr"))
        maybe_sent = maybe_sent or job.attempts > 1
        if record.max_time and record.max_time < now and not sent_before:
            return self._finish(record, ctx, TxStatus.FAILED, {"error": EXPIRED})
        if not record.submit:
            return self._finish(record, ctx, TxStatus.PROCESSED, {})
        parsed = parse_envelope(record.xdr, self.settings.networks[record.network].passphrase)
        try:
            envelope = self._envelope(record, ctx, parsed, maybe_sent)
        except UpstreamUnavailable as exc:  # could not load the accounts: try again later
            return self._retry(record, ctx, exc.message, dict(record.result or {}))
        if envelope is None:
            return Done()
        submitter = self.submitters[record.network]
        inner = parsed.inner or parsed.shape
        outcome = submitter.submit(Submission(
            envelope_xdr=envelope, tx_hash=record.hash, source=inner.source,
            sequence=inner.sequence, previously_sent=maybe_sent or sent_before,
            awaiting_ledger=0 < _pending_checks(job) < PENDING_CHECKS))
        return self._apply(record, job, ctx, envelope, outcome)

    def _envelope(self, record: TxRecord, ctx: JobContext, parsed: ParsedEnvelope,
                  maybe_sent: bool) -> str | None:
        """The envelope to send: the one sent before, byte for byte, or a fresh minimal one.

        Signers may have changed on-chain since the last signature, so readiness is checked again
        against account data no older than ``accountCacheTtl``."""
        earlier = (record.result or {}).get("envelopeXdr")
        if isinstance(earlier, str):
            return earlier
        stored = record.derived.get("xdr")
        if maybe_sent and isinstance(stored, str):
            return stored  # an earlier run may have sent it: the same bytes again
        accounts = self.accounts.load(record.network, accounts_to_load(parsed))
        result = evaluate(parsed, accounts, candidates(record), record.desired_signers or ())
        if result.selected is None:
            derived = {**record.derived, "progress": result.progress}
            ctx.require()
            self.store.transition(record.hash, TxStatus.PROCESSING, TxStatus.PENDING,
                                  {"derived": derived, "ready_at": None,
                                   "updated_at": ctx.now()})
            log.warning("no longer fully signed; back to pending",
                        extra={"fields": {"hash": record.hash}})
            return None
        envelope = attach_signatures(record.xdr, [Sig(c.hint, c.signature) for c in result.selected])
        if envelope != stored:
            # Stored before the first send (the usual case needs no write: the record already
            # holds this envelope), so every retry resubmits exactly these bytes.
            record.derived = {**record.derived, "xdr": envelope}
            ctx.require()
            self.store.transition(record.hash, TxStatus.PROCESSING, TxStatus.PROCESSING,
                                  {"derived": record.derived})
        return envelope

    def _apply(self, record: TxRecord, job: Job, ctx: JobContext, envelope: str,
               outcome: Sent) -> Outcome:
        now = ctx.now()
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
            return self._finish(record, ctx, TxStatus.PROCESSED,
                                {"submitted": int(now), "result": result, "derived": derived,
                                 "error": None})
        if outcome.kind == "failed":
            self.metrics.count("submission_failed", record.network)
            if outcome.consumed_by_account is not None:
                inner = parsed_sequence(record, self.settings)
                derived["reason"] = reasons.sequence_consumed(outcome.consumed_by_account, inner)
            return self._finish(record, ctx, TxStatus.FAILED,
                                {"error": outcome.message, "result": result, "derived": derived})
        if outcome.kind == "pending" and _pending_checks(job) < PENDING_CHECKS:
            # Accepted: not a failure. Look again shortly, from the store, not by sleeping here.
            at = now + PENDING_RECHECK
            ctx.require()
            self.store.transition(record.hash, TxStatus.PROCESSING, TxStatus.READY,
                                  {"next_attempt_at": at, "updated_at": now,
                                   "result": {**result, "lastError": outcome.message}})
            return RunAt(at, entry={"pending": round(now, 3)})
        if outcome.kind == "busy" and not (record.max_time and record.max_time < now):
            # TRY_AGAIN_LATER never fails a record: hold it and try again later (not counted
            # against the attempts), until it expires.
            at = ctx.retry_at()
            ctx.require()
            self.store.transition(record.hash, TxStatus.PROCESSING, TxStatus.READY,
                                  {"next_attempt_at": at, "updated_at": now,
                                   "result": {**result, "lastError": outcome.message}})
            return RunAt(at, entry={"busy": round(now, 3)})
        return self._retry(record, ctx, outcome.message, result)

    def _retry(self, record: TxRecord, ctx: JobContext, message: str,
               result: dict[str, Any]) -> Outcome:
        now = ctx.now()
        if ctx.final_attempt:
            self._finish(record, ctx, TxStatus.FAILED,
                         {"error": f"Failed to submit transaction: {message}", "result": result})
            return Dead(message)
        if record.max_time and record.max_time < now:
            self._finish(record, ctx, TxStatus.FAILED, {"error": EXPIRED, "result": result})
            return Dead(EXPIRED)
        self.metrics.count("retried", record.network)
        at = ctx.retry_at()
        ctx.require()
        self.store.transition(record.hash, TxStatus.PROCESSING, TxStatus.READY,
                              {"next_attempt_at": at, "updated_at": now,
                               "result": {**result, "lastError": message}})
        return Retry(message, at=at)

    def _finish(self, record: TxRecord, ctx: JobContext, status: TxStatus,
                fields: dict[str, Any]) -> Outcome:
        ctx.require()
        fields = {"updated_at": ctx.now(), "next_attempt_at": None, **fields}
        if not self.store.transition(record.hash, TxStatus.PROCESSING, status, fields):
            log.warning("record changed before finishing", extra={"fields": {"hash": record.hash}})
            return Done()
        self.endings.ended(record, status, fields, ctx.enqueue)
        if self.sequencing is not None:
            self.sequencing.finished(record, ctx)
        return Done()

    def give_up(self, job: Job, error: str) -> None:
        """The job failed every attempt with internal errors: the record says so."""
        record = self.store.get(job.ref or "", by_inner=False)
        if record is None or record.status not in (TxStatus.READY, TxStatus.PROCESSING):
            return
        fields: dict[str, Any] = {"updated_at": time.time(), "next_attempt_at": None,
                                  "error": f"Internal error after {job.attempts} attempts: {error}"}
        if self.store.transition(record.hash, record.status, TxStatus.FAILED, fields):
            self.endings.ended(record, TxStatus.FAILED, fields)


def parsed_sequence(record: TxRecord, settings: Settings) -> int:
    parsed = parse_envelope(record.xdr, settings.networks[record.network].passphrase)
    return (parsed.inner or parsed.shape).sequence


def _pending_checks(job: Job) -> int:
    """How many times in a row this job has found its transaction accepted but not applied."""
    count = 0
    for entry in reversed(job.log):
        if entry.get("pending") is None:
            break
        count += 1
    return count
