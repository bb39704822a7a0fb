"""``refractor backup verify``: prove an archive restores, without touching the live store.

The archive is checked against its manifest (checksums, counts, per-row digests), then every
collection of both stores (records, jobs, controls; used challenges, subscriptions, their events
and quotas) is restored into a scratch SQLite database in a private temporary directory and read
back row by row: what the restore drill runs weekly against the latest off-host backup.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from app.maintenance import MaintenanceError
from app.maintenance.restore import held, open_backup, restore_backup
from app.store.cosigners_sqlite import SqliteCosignerStore
from app.store.sqlite import SqliteStore


def verify_backup(path: Path) -> dict[str, Any]:
    """A summary of the verified archive; MaintenanceError if any check fails."""
    with open_backup(path) as backup, \
            tempfile.TemporaryDirectory(prefix=".refractor-verify-") as tmp:
        scratch = SqliteStore(str(Path(tmp) / "scratch.db"))
        subscribers = SqliteCosignerStore(str(Path(tmp) / "scratch.db"))
        try:
            restore_backup(scratch, backup, cosigners=subscribers)
            restored = held(scratch, subscribers)
        finally:
            scratch.close()
            subscribers.close()
        manifest = backup.manifest
        expected = backup.counts()
        backup_signatures = backup.signature_count
    if restored != expected:  # read-back compares item by item; this guards the counting too
        raise MaintenanceError(f"the scratch restore holds {restored}, the manifest says {expected}")
    return {"archive": str(path), "ok": True, "created_at": manifest.get("created_at"),
            "format_version": manifest["format_version"],
            "source_engine": manifest.get("source_engine"), "counts": restored,
            "signatures": backup_signatures}
