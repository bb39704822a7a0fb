"""The stored record of one transaction and its accepted signatures."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class TxStatus(StrEnum):
    PENDING = "pending"  # collecting signatures
    READY = "ready"  # fully signed, waiting for the worker (minTime, or a retry: next_attempt_at)
    PROCESSING = "processing"  # a worker is submitting it right now
    PROCESSED = "processed"  # submitted and/or notified: final
    FAILED = "failed"  # final, ``error`` says why

    @property
    def final(self) -> bool:
        return self in (TxStatus.PROCESSED, TxStatus.FAILED)


@dataclass(slots=True)
class StoredSignature:
    key: str  # the signer: G..., X... (hash(x) preimage) or P... (signed payload)
    signature: bytes
    added_at: float


@dataclass(slots=True)
class TxRecord:
    hash: str
    network: str
    xdr: str  # envelope with the collected signature list empty
    status: TxStatus
    created_at: float
    updated_at: float
    submit: bool = False
    callback_url: str | None = None
    desired_signers: list[str] | None = None
    min_time: int = 0
    max_time: int | None = None
    inner_hash: str | None = None
    ready_at: float | None = None
    submitted: int | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    sources: list[str] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)  # potential signers when created
    # A private record is shown only to its parties and its creator (app.cosigners.visibility).
    private: bool = False
    creator: str | None = None  # the signed-in account that created a private record
    signatures: list[StoredSignature] = field(default_factory=list)
    # Computed at write time so reads stay cheap: signed "xdr", "progress" and "summary".
    derived: dict[str, Any] = field(default_factory=dict)
    sig_count: int = 0
    # When a submission that failed transiently is tried again (the job queue owns the schedule;
    # this copy is what clients see).
    next_attempt_at: float | None = None


@dataclass(slots=True)
class Delivery:
    """One callback as backups carry it (the ``deliver_callback`` job, in the shape it had before
    the job queue, so backup archives keep their format)."""

    id: str  # the webhook-id, stable across retries so receivers can de-duplicate
    tx_hash: str
    url: str
    payload: dict[str, Any]
    created_at: float
    due_at: float
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    last_error: str | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    lease_owner: str | None = None
    lease_until: float | None = None
