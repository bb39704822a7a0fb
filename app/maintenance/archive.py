"""What a backup archive is (format 3): names, the manifest's per-collection entry, the digests.

The archive is a gzip'd tar: ``manifest.json`` first, then one JSON Lines file per collection of
every store (app.store.snapshot: ``records``, ``jobs``, ``controls`` of the transaction store;
``auth_challenges``, ``subscriptions``, ``subscription_events``, ``event_quota`` of the co-signer
store), one canonical row per line, in key order. docs/operations.md ("Backup format") describes
it; formats 1 and 2 are still read (app.maintenance.legacy).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

FORMAT = "refractor-backup"
FORMAT_VERSION = 3
MANIFEST_NAME = "manifest.json"
TX_STORE = "transactions"
COSIGNER_STORE = "cosigners"
DIGEST_METHOD = ("per collection: sha256 over one '<key> <row digest>\\n' line per row in file "
                 "order; row digest = sha256 of the row's canonical JSON (sorted keys, no spaces; "
                 "times as floats, records' sources and signers as sorted sets)")


@dataclass
class Stats:
    """What the manifest says about one collection's file; computed alike when writing and checking."""

    count: int = 0
    signatures: int = 0  # records only
    by_status: Counter[str] = field(default_factory=Counter)
    size: int = 0
    sha256: hashlib._Hash = field(default_factory=hashlib.sha256)  # of the file's bytes
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)  # of the logical content

    def add(self, line: bytes, key: str, digest: str, status: str | None = None,
            signatures: int = 0) -> None:
        self.count += 1
        self.signatures += signatures
        if status is not None:
            self.by_status[status] += 1
        self.size += len(line)
        self.sha256.update(line)
        self.digest.update(f"{key} {digest}\n".encode())

    def entry(self, file: str, by_status: bool, signatures: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {"file": file, "count": self.count, "bytes": self.size,
                                 "sha256": self.sha256.hexdigest(), "digest": self.digest.hexdigest()}
        if by_status:
            entry["counts_by_status"] = dict(sorted(self.by_status.items()))
        if signatures:
            entry["signatures"] = self.signatures
        return entry
