"""Per-source ordering in the job queue: the submission handler's gate, and the review job.

- Before a ready record is sent for the first time, ``gate`` decides (``Ordering.gate``): go on,
  park the job until the source's event or the time its preconditions hold (``WaitFor``), or
  finish the record now (a reason, or found applied).
- When a record of a source finishes (applied or failed: either consumes the sequence), the
  source's event is signalled, so the next record's parked job runs at once, and a review of
  the source is queued.
- ``review_source`` jobs review a source's whole queue (``Reviewer``): records that can never be
  applied end, pending ones included, and the others show what they wait for. They run when a
  sibling finishes, and again every ``sequenceReviewSeconds`` while the source has live
  records; a periodic sweep queues one for every source with pending or ready records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from app.errors import UpstreamUnavailable
from app.jobs.model import Done, Job, Outcome, RunAt, WaitFor, job_id
from app.jobs.runner import JobContext
from app.ledger.outcomes import Found, LookupResult
from app.stellar.envelope import InvalidEnvelope, parse_envelope
from app.store.base import TxStore
from app.txs.model import TxRecord, TxStatus
from app.worker.ordering import End, Go, Hold, Landed, Ordering, source_event
from app.worker.review import Reviewer, end_fields, waiting_fields
from app.worker.sequencer import was_sent
from app.worker.submission import Submitter

log = logging.getLogger("refractor.worker")
REVIEW_SOURCE = "review_source"
# The network could not be asked (account, latest ledger): look again this much later.
UNREACHABLE_DELAY = 2.0


def lookup_by_hash(submitters: dict[str, Submitter]) -> Callable[[TxRecord], LookupResult | None]:
    """Look a record up on its network by hash, outer then inner (a fee bump's inner transaction
    may have landed inside another fee bump): found, None when the network does not know it;
    UpstreamUnavailable when it cannot tell."""

    def lookup(record: TxRecord) -> LookupResult | None:
        adapter = submitters[record.network].adapter
        for tx_hash in (record.hash, record.inner_hash):
            if tx_hash is None:
                continue
            found = adapter.find_transaction(tx_hash)
            if found.kind is Found.UNKNOWN:
                raise UpstreamUnavailable(found.message or "the network could not be asked")
            if found.kind in (Found.APPLIED, Found.FAILED):
                return found
        return None

    return lookup


def landed(found: LookupResult) -> tuple[TxStatus, dict[str, Any]]:
    """What a record found in a ledger becomes: processed, or failed when it failed there."""
    result: dict[str, Any] = {"ledger": found.ledger, "resultXdr": found.result_xdr,
                              "successful": found.kind is Found.APPLIED}
    if found.codes is not None:
        result.update(found.codes.to_json())
    if found.kind is Found.APPLIED:
        return TxStatus.PROCESSED, {"result": result, "error": None}
    return TxStatus.FAILED, {"result": result, "error": found.message or "failed in a ledger"}


def review_job(network: str, source: str, tx_hash: str, now: float, due: float | None = None) -> Job:
    return Job(id=job_id(REVIEW_SOURCE, f"{network}:{source}"), kind=REVIEW_SOURCE,
               due_at=now if due is None else due, created_at=now, updated_at=now, ref=tx_hash,
               data={"network": network, "source": source})


class Sequencing:
    def __init__(self, store: TxStore, ordering: Ordering[Any], reviewer: Reviewer[Any],
                 passphrases: dict[str, str], review_seconds: float,
                 on_final: Callable[[TxRecord, TxStatus, dict[str, Any], JobContext], object]
                 ) -> None:
        self.store = store
        self.ordering = ordering
        self.reviewer = reviewer
        self.passphrases = passphrases
        self.review_seconds = review_seconds
        self.on_final = on_final

    def source_of(self, record: TxRecord) -> str | None:
        try:
            parsed = parse_envelope(record.xdr, self.passphrases[record.network])
        except (InvalidEnvelope, KeyError):
            return None
        return (parsed.inner or parsed.shape).source

    # -- the submission handler's gate --

    def gate(self, record: TxRecord, ctx: JobContext) -> Outcome | None:
        """None: send it now. Otherwise what the submission job does instead."""
        if not record.submit or was_sent(record):
            return None
        try:
            action = self.ordering.gate(record)
        except UpstreamUnavailable as exc:
            log.info("sequencing could not read the network; trying again",
                     extra={"fields": {"hash": record.hash, "error": exc.message}})
            return RunAt(ctx.now() + UNREACHABLE_DELAY)
        if isinstance(action, Go):
            self._show(record, ctx, None)
            return None
        if isinstance(action, Hold):
            self._show(record, ctx, action.waiting_for)
            return WaitFor(action.event, action.at)
        now = ctx.now()
        if isinstance(action, End):
            fields = end_fields(record, action, now)
            status = TxStatus.FAILED
        else:
            assert isinstance(action, Landed)
            status, found = self.reviewer.landed(action.found)
            fields = {**found, "updated_at": now, "derived": {**record.derived, "waitingFor": None}}
        ctx.require()
        if self.store.transition(record.hash, TxStatus.READY, status, fields):
            self.on_final(record, status, fields, ctx)
            self.finished(record, ctx)
        return Done()

    def _show(self, record: TxRecord, ctx: JobContext, waiting: dict[str, Any] | None) -> None:
        change = waiting_fields(record, waiting)
        if change is not None:
            ctx.require()
            if self.store.transition(record.hash, record.status, record.status, change):
                record.derived = change["derived"]

    # -- a record of the source finished --

    def finished(self, record: TxRecord, ctx: JobContext) -> None:
        """Applied or failed: its sequence is settled. Wake the source's parked submissions and
        review its queue (siblings with the same sequence end superseded)."""
        source = self.source_of(record)
        if source is None:
            return
        ctx.signal(source_event(record.network, source))
        ctx.enqueue(review_job(record.network, source, record.hash, ctx.now()), rearm=True)

    # -- the review job --

    def review(self, job: Job, ctx: JobContext) -> Outcome:
        record = self.store.get(job.ref or "", by_inner=False)
        network, source = job.data.get("network"), job.data.get("source")
        if record is None or not isinstance(network, str) or not isinstance(source, str):
            return Done()
        try:
            result = self.reviewer.review(record)
        except UpstreamUnavailable as exc:
            return RunAt(ctx.now() + UNREACHABLE_DELAY, entry={"error": exc.message})
        if result.ended or result.landed or result.eligible:
            ctx.signal(source_event(network, source))
        if result.live:
            return RunAt(ctx.now() + self.review_seconds)
        return Done()

    def sweep(self, now: float, enqueue: Callable[[Job], bool], limit: int = 1000) -> int:
        """Queue a review for every source with pending or ready records (at most ``limit``
        records looked at per status); ``enqueue`` re-arms a source's review job that ran before."""
        seen: set[tuple[str, str]] = set()
        for status in (TxStatus.PENDING, TxStatus.READY):
            for tx_hash in self.store.hashes_with_status(status, limit):
                record = self.store.get(tx_hash, by_inner=False)
                source = self.source_of(record) if record is not None else None
                if record is None or source is None or (record.network, source) in seen:
                    continue
                seen.add((record.network, source))
                enqueue(review_job(record.network, source, tx_hash, now))
        return len(seen)
