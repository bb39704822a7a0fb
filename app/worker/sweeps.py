"""Expiry and retention: shared by the worker's periodic pass, ``refractor cleanup`` and
``POST /monitoring/cleanup/expired``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.jobs.kinds import SUBMIT_TRANSACTION, submit_job
from app.jobs.model import Job
from app.settings import Settings
from app.store.base import TxStore
from app.txs.model import TxStatus

EXPIRED = "Transaction has already expired"

BATCH = 500


@dataclass(frozen=True, slots=True)
class CleanupReport:
    expired: int
    deleted_final: int
    deleted_unsigned: int

    def to_json(self) -> dict[str, int]:
        return {"expired": self.expired, "deletedFinal": self.deleted_final,
                "deletedUnsigned": self.deleted_unsigned}


def expire(store: TxStore, now: float, limit: int = BATCH) -> list[str]:
    """Mark pending/ready records past their maxTime failed; return the hashes that changed."""
    changed = []
    for tx_hash in store.expired(now, limit):
        fields = {"error": EXPIRED, "updated_at": now}
        if (store.transition(tx_hash, TxStatus.PENDING, TxStatus.FAILED, fields)
                or store.transition(tx_hash, TxStatus.READY, TxStatus.FAILED, fields)):
            changed.append(tx_hash)
    return changed


def cleanup(store: TxStore, settings: Settings, now: float, dry_run: bool = False) -> CleanupReport:
    expired = len(store.expired(now, 1_000_000)) if dry_run else len(expire(store, now, 1_000_000))
    final_cutoff = now - settings.retention_days * 86400
    unsigned_cutoff = now - settings.unsigned_retention_hours * 3600
    if dry_run:
        return CleanupReport(expired, _count_final(store, final_cutoff),
                             _count_unsigned(store, unsigned_cutoff))
    deleted_final = deleted_unsigned = 0
    while (n := store.delete_final_before(final_cutoff, BATCH)) > 0:
        deleted_final += n
    while (n := store.delete_unsigned_before(unsigned_cutoff, BATCH)) > 0:
        deleted_unsigned += n
    # Finished jobs (callbacks' delivery logs) go with the same retention as final records.
    while store.jobs.delete_final_before(final_cutoff, BATCH) > 0:
        pass
    return CleanupReport(expired, deleted_final, deleted_unsigned)


def _count_final(store: TxStore, cutoff: float) -> int:
    return sum(1 for r in store.iter_all() if r.status.final and r.updated_at < cutoff)


def _count_unsigned(store: TxStore, cutoff: float) -> int:
    return sum(1 for r in store.iter_all()
               if r.status is TxStatus.PENDING and r.sig_count == 0 and r.created_at < cutoff)


def reconcile(store: TxStore, add: Callable[[Job], object], now: float,
              limit: int = 10_000) -> int:
    """Queue a submission job for each ready or processing record that has none active.

    The record and its job are separate writes (separate collections on MongoDB): a crash
    between them, a restored backup or a migration can leave a ready record without a job. This
    finds those; how many it queued."""
    queued = 0
    for status in (TxStatus.READY, TxStatus.PROCESSING):
        hashes = store.hashes_with_status(status, limit)
        missing = set(hashes) - store.jobs.active_refs(SUBMIT_TRANSACTION, hashes)
        for tx_hash in sorted(missing):
            record = store.get(tx_hash, by_inner=False)
            if record is not None and record.status in (TxStatus.READY, TxStatus.PROCESSING):
                add(submit_job(record, now))
                queued += 1
    return queued
