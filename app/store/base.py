"""The storage interface every engine implements, and the query types it takes."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from app.errors import ValidationFailed
from app.jobs.model import Job, JobState
from app.store.snapshot import Kind, Row, StoreExport
from app.txs.model import StoredSignature, TxRecord, TxStatus


@dataclass(frozen=True, slots=True)
class TxQuery:
    account: str | None = None  # a source account or a potential signer
    signer: str | None = None  # a potential signer
    awaiting: str | None = None  # a potential signer that has not signed a pending transaction
    status: TxStatus | None = None
    network: str | None = None
    limit: int = 20
    cursor: tuple[float, str] | None = None  # (created_at, hash) of the last item already seen
    # Private records are listed only to this signed-in account, when it is a party or the creator.
    viewer: str | None = None


class SnapshotUnavailable(Exception):
    """The engine could not take a snapshot (a missing or unreadable database file)."""


@dataclass(frozen=True, slots=True)
class Page:
    items: list[TxRecord]
    next: tuple[float, str] | None


MAX_CURSOR_TIME = 2**53  # seconds; any record's creation time is far below


def encode_cursor(position: tuple[float, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


MAX_CURSOR_LENGTH = 200  # an encoded (timestamp, hash) pair is about 110 characters
_CURSOR_HASH = re.compile(r"[0-9a-f]{64}")


def decode_cursor(text: str) -> tuple[float, str]:
    """The position a cursor names; anything this server did not produce is a 400."""
    invalid = ValidationFailed("Invalid \"cursor\" parameter.", "cursor")
    if len(text) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        created, tx_hash = json.loads(raw)
    except (ValueError, TypeError, RecursionError) as exc:
        raise invalid from exc
    if (isinstance(created, bool) or not isinstance(created, int | float)
            or not isinstance(tx_hash, str) or not _CURSOR_HASH.fullmatch(tx_hash)):
        raise invalid
    if not 0 <= created <= MAX_CURSOR_TIME:  # also refuses NaN, infinities and huge integers
        raise invalid
    return float(created), tx_hash


def evaluated(before: TxRecord, signatures: list[StoredSignature],
              derived: dict[str, Any] | None, ready: bool, now: float) -> TxRecord:
    """What ``TxStore.add_evaluated`` writes, applied to ``before`` (a new object): the API
    answers with it instead of reading the record back."""
    after = replace(before, signatures=[*before.signatures, *signatures],
                    sig_count=before.sig_count + len(signatures))
    if signatures:
        after.updated_at = now
    if derived is not None:
        after.derived = derived
        if ready and before.status is TxStatus.PENDING:
            after.status, after.ready_at = TxStatus.READY, now
    return after


class TxStore(Protocol):
    """The transactions collection, and the engine's lifecycle. Every state change is conditional
    and atomic."""

    # Point reads cheap enough (tens of microseconds, no network) to run on the event loop.
    inline_reads: bool

    def ensure_schema(self) -> None:
        """Create tables/collections and indexes; idempotent."""

    def ping(self) -> None:
        """Raise if the store is unreachable."""

    def close(self) -> None: ...

    def insert(self, record: TxRecord, jobs: Sequence[Job] = ()) -> bool:
        """Insert a new record with its signatures (``sig_count`` must match them) in one atomic
        write; False, writing nothing, if the hash exists already. ``jobs`` (a ready record's
        submission) are added with it, re-armed if they exist: in the same transaction where the
        engine has them (SQLite), right after it otherwise (a crash in between leaves a ready
        record without its job, which the worker's reconciliation re-queues)."""

    def get(self, tx_hash: str, by_inner: bool = True) -> TxRecord | None:
        """The record with this hash, or (``by_inner``) whose fee-bump inner hash this is."""

    def add_signatures(self, tx_hash: str, signatures: list[StoredSignature],
                       limit: int) -> list[StoredSignature]:
        """Add each signature unless its signer is stored already or ``limit`` is reached.

        Atomic per signature, safe under any number of concurrent writers; returns those added.
        """

    def save_evaluation(self, tx_hash: str, sig_count: int, derived: dict[str, Any],
                        ready: bool, now: float) -> bool:
        """Store the view computed from exactly ``sig_count`` signatures, and move a pending
        record to ready if ``ready``; a no-op when the signature count has moved on since."""

    def add_evaluated(self, before: TxRecord, signatures: list[StoredSignature],
                      derived: dict[str, Any] | None, ready: bool, now: float,
                      jobs: Sequence[Job] = ()) -> TxRecord | None:
        """Append ``signatures`` to the record read as ``before``, store ``derived`` (the view of
        all of them; None keeps the stored one) and move a pending record to ready if ``ready``,
        in one conditional write that applies only while the record still has the signature
        count and status of ``before``. The record as written (``evaluated(...)``), or None,
        writing nothing, when another writer got there first. ``jobs`` are added (re-armed) only
        if the write applied, as with ``insert``."""

    def transition(self, tx_hash: str, expected: TxStatus, new: TxStatus,
                   fields: dict[str, Any]) -> bool:
        """Set ``status = new`` and ``fields`` only if the status is still ``expected``."""

    def update_fields(self, tx_hash: str, fields: dict[str, Any]) -> bool: ...

    def search(self, query: TxQuery) -> Page: ...

    def iter_all(self) -> Iterator[TxRecord]:
        """Every record with its signatures (backups and migrations)."""

    def restore(self, record: TxRecord) -> None:
        """Write a record exactly as given, replacing any with the same hash."""

    def count_by_status(self) -> dict[str, int]: ...

    def delete_final_before(self, cutoff: float, limit: int) -> int:
        """Delete processed/failed records last updated before ``cutoff``, with their finished
        jobs (callback logs)."""

    def delete_unsigned_before(self, cutoff: float, limit: int) -> int:
        """Delete pending records that never got a signature and were created before ``cutoff``."""

    def expired(self, now: float, limit: int) -> list[str]:
        """Pending or ready records whose maxTime has passed."""

    def hashes_with_status(self, status: TxStatus, limit: int) -> list[str]:
        """Up to ``limit`` hashes of records in ``status`` (for reconciling with the jobs)."""

    # -- backups and restores: every collection, whole (app.store.snapshot) --

    engine: str  # "sqlite", "mongodb": how backups name where they came from
    snapshot_kinds: tuple[Kind, ...]

    def export_snapshot(self) -> AbstractContextManager[StoreExport]:
        """Records, jobs and controls as rows, read as of one moment where the engine can."""

    def import_snapshot(self, collections: Mapping[str, Iterable[Row]]) -> None:
        """Replace every record, job and control with these rows (a restore). Only run while no
        instance uses the store."""

    # The other collections of the same database, each behind its own interface.
    @property
    def jobs(self) -> JobStore: ...

    @property
    def controls(self) -> ControlStore: ...


class JobStore(Protocol):
    """Durable jobs of every kind. One claim API; every write after a claim is conditional on
    the caller still holding the lease (``owner``)."""

    def add(self, job: Job, rearm: bool = False) -> bool:
        """Insert ``job``; True if it was new. If a job with its id exists and ``rearm``, make it
        run again: a final one is queued afresh (attempts reset), a waiting one is due at the
        earlier time, a running one is queued again when its holder finishes."""

    def claim(self, kind: str, owner: str, now: float, lease_seconds: float, limit: int,
              skip_groups: Collection[str] = (), per_group: int | None = None) -> list[Job]:
        """Lease up to ``limit`` jobs of ``kind`` that are due (queued, retry_wait or waiting
        with ``due_at`` passed) or whose lease has expired, longest overdue first, outside
        ``skip_groups`` and at most ``per_group`` of one group; each claim counts one attempt."""

    def renew(self, job_id: str, owner: str, lease_until: float) -> bool:
        """Extend the lease, only while ``owner`` holds it."""

    def finish(self, job_id: str, owner: str, now: float, state: JobState, *,
               due_at: float | None = None, error: str | None = None,
               entry: dict[str, Any] | None = None, event: str | None = None,
               uncount: bool = False) -> bool:
        """Record the outcome and drop the lease, only while ``owner`` holds it. ``entry`` is
        appended to the log; ``uncount`` takes back the attempt the claim counted. A job re-armed
        while running goes back to queued instead of a final state."""

    def signal(self, event: str, now: float) -> int:
        """Make every job waiting for ``event`` due now; how many."""

    def get(self, job_id: str) -> Job | None: ...

    def for_ref(self, ref: str, kind: str) -> list[Job]:
        """The jobs of ``kind`` about one transaction, oldest first."""

    def active_refs(self, kind: str, refs: list[str]) -> set[str]:
        """Those of ``refs`` that have a job of ``kind`` not yet final."""

    def counts(self, kind: str) -> dict[str, int]:
        """Jobs of ``kind`` per state."""

    def delete_final_before(self, cutoff: float, limit: int) -> int:
        """Delete succeeded/dead jobs last updated before ``cutoff``."""

    def put(self, job: Job) -> None:
        """Write a job exactly as given, replacing any with the same id."""


class ControlStore(Protocol):
    """Named settings shared by every process (queue pause, concurrency)."""

    def get(self, name: str) -> dict[str, Any] | None: ...

    def set(self, name: str, value: dict[str, Any]) -> None: ...
