"""Expiry and retention: shared by the worker's periodic pass, ``refractor cleanup`` and
``POST /monitoring/cleanup/expired``."""

from __future__ import annotations

from dataclasses import dataclass

from app.settings import Settings
from app.store.base import TxStore
from app.txs.model import TxStatus
from app.worker.processor import EXPIRED

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
    return CleanupReport(expired, deleted_final, deleted_unsigned)


def _count_final(store: TxStore, cutoff: float) -> int:
    return sum(1 for r in store.iter_all() if r.status.final and r.updated_at < cutoff)


def _count_unsigned(store: TxStore, cutoff: float) -> int:
    return sum(1 for r in store.iter_all()
               if r.status is TxStatus.PENDING and r.sig_count == 0 and r.created_at < cutoff)
