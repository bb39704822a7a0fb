"""Per-source ordering in the job queue: the submission handler's gate, and the review job.

- Before a ready record is sent for the first time, ``gate`` decides (``Ordering.gate``): go on,
  park the job until the source's event or the time its preconditions hold (``WaitFor``), or
  finish the record now (a reason, or found applied).
- When a record of a source finishes (applied or failed: either consumes the sequence), its own
  ``after_event`` and the source's event are signalled, so the next record's parked job runs at
  once (records further down the line stay parked: they wait for another record), and a review
  of the source is queued. A review wakes the parked job of every record it finds free to go.
- ``review_source`` jobs review a source's whole queue (``Reviewer``): records that can never be
  applied end, pending ones included, and the others show what they wait for. They run when a
  sibling finishes, and again every ``sequenceReviewSeconds`` while the source has live
  records; a periodic sweep queues one for every source with pending or ready records.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from app.errors import UpstreamUnavailable
from app.jobs.kinds import SUBMIT_TRANSACTION
from app.jobs.model import Done, Job, JobState, Outcome, RunAt, WaitFor, job_id
from app.jobs.runner import JobContext
from app.ledger.outcomes import Found, LookupResult
from app.store.base import TxQuery, TxStore
from app.txs.model import TxRecord, TxStatus
from app.worker.ordering import End, Go, Hold, Landed, Ordering, after_event, source_event
from app.worker.review import Reviewer, end_fields, waiting_fields
from app.worker.sequencer import PAGE, was_sent
from app.worker.submission import Submitter

log = logging.getLogger("refractor.worker")
REVIEW_SOURCE = "review_source"
# The network could not be asked (account, latest ledger): look again this much later.
UNREACHABLE_DELAY = 2.0
SOURCES_KEPT = 100_000  # records whose source a process remembers (a few MB)


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
        self._where: OrderedDict[str, tuple[str, str]] = OrderedDict()  # hash: (network, source)

    def source_of(self, record: TxRecord) -> str | None:
        where = self._where.get(record.hash)
        if where is not None:
            return where[1]
        pre = self.ordering.sequencer.preconditions(record)
        if pre is None:
            return None
        self._remember(record.hash, (record.network, pre.source))
        return pre.source

    def _remember(self, tx_hash: str, where: tuple[str, str]) -> None:
        # A record's network and source never change: remembered, so the sweep reads only the
        # records it has not seen before. Oldest forgotten first, beyond SOURCES_KEPT.
        self._where[tx_hash] = where
        while len(self._where) > SOURCES_KEPT:
            self._where.popitem(last=False)

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
            if action.after is not None and self._ended(action.after):
                # It ended after the view was read: its signal found this job still running,
                # not parked. Decide again now instead of waiting for the safety re-check.
                return RunAt(ctx.now())
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

    def _ended(self, tx_hash: str) -> bool:
        other = self.store.get(tx_hash, by_inner=False)
        return other is None or other.status.final

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
        if source is None or not self._others_live(record, source):
            return  # nothing of the source waits: nothing to wake or review
        ctx.signal(after_event(record.network, record.hash))
        ctx.signal(source_event(record.network, source))
        ctx.enqueue(review_job(record.network, source, record.hash, ctx.now()), rearm=True)

    def _others_live(self, record: TxRecord, source: str) -> bool:
        """Whether another live record names the source (one read; a source with more than a
        page of records is assumed to have some)."""
        page = self.store.search(TxQuery(account=source, network=record.network, limit=PAGE,
                                         viewer=source))
        return page.next is not None or any(
            r.hash != record.hash and not r.status.final for r in page.items)

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
        for tx_hash in (*result.ended, *result.landed):
            ctx.signal(after_event(network, tx_hash))
        for tx_hash in result.eligible:
            # Free to go: its job may be parked on any event (the record it waited for when it
            # was last decided); wake it by that event.
            parked = self.store.jobs.get(job_id(SUBMIT_TRANSACTION, tx_hash))
            if parked is not None and parked.state is JobState.WAITING and parked.event:
                ctx.signal(parked.event)
        if result.ended or result.landed or result.eligible:
            ctx.signal(source_event(network, source))
        if result.live:
            return RunAt(ctx.now() + self.review_seconds)
        return Done()

    def sweep(self, now: float, enqueue: Callable[..., bool], limit: int = 1000) -> int:
        """Make sure every source with pending or ready records (at most ``limit`` records looked
        at per status) has an active review job: queue one, or re-arm the one that finished.
        A review job still active re-schedules itself; it is left alone (``enqueue(job,
        rearm=...)`` adds a job; True if it was new)."""
        seen: set[tuple[str, str]] = set()
        for status in (TxStatus.PENDING, TxStatus.READY):
            for tx_hash in self.store.hashes_with_status(status, limit):
                where = self._where.get(tx_hash)
                if where is None:
                    record = self.store.get(tx_hash, by_inner=False)
                    source = self.source_of(record) if record is not None else None
                    if record is None or source is None:
                        continue
                    where = (record.network, source)
                if where in seen:
                    continue
                seen.add(where)
                job = review_job(where[0], where[1], tx_hash, now)
                if not enqueue(job):
                    current = self.store.jobs.get(job.id)
                    if current is not None and current.state.final:
                        enqueue(job, rearm=True)
        return len(seen)
