"""A job, its states and what a handler answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    QUEUED = "queued"  # due at ``due_at``
    RUNNING = "running"  # a process holds the lease until ``lease_until``
    RETRY_WAIT = "retry_wait"  # failed; due again at ``due_at``
    WAITING = "waiting"  # parked until ``signal(event)`` or ``due_at``, whichever comes first
    SUCCEEDED = "succeeded"  # final
    DEAD = "dead"  # final: gave up, ``last_error`` says why

    @property
    def final(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.DEAD)

    @property
    def active(self) -> bool:
        return not self.final


@dataclass(slots=True)
class Job:
    id: str  # "<kind>:<key>", unique: enqueueing the same work twice is one job
    kind: str
    due_at: float
    created_at: float
    updated_at: float
    ref: str | None = None  # the transaction it is about (listing, cleanup)
    group: str | None = None  # concurrency group within the kind (a callback's receiver host)
    state: JobState = JobState.QUEUED
    attempts: int = 0  # claims so far, the current one included
    data: dict[str, Any] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)
    last_error: str | None = None
    lease_owner: str | None = None
    lease_until: float | None = None
    rearm: bool = False  # enqueued again while running: queue it again instead of finishing
    event: str | None = None  # what a WAITING job waits for


def job_id(kind: str, key: str) -> str:
    return f"{kind}:{key}"


# -- what a handler answers --


@dataclass(frozen=True, slots=True)
class Done:
    entry: dict[str, Any] | None = None  # appended to the job's log


@dataclass(frozen=True, slots=True)
class Retry:
    """A failure worth another attempt: at ``at``, else after the kind's backoff (which honours
    ``retry_after`` within its bounds). Past the kind's attempt budget the job is dead instead."""

    error: str
    at: float | None = None
    retry_after: float | None = None
    entry: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Dead:
    error: str
    entry: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RunAt:
    """Not a failure: run again at ``at`` (a precondition's time, a ledger to wait for); the
    attempt is not counted against the budget."""

    at: float
    entry: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class WaitFor:
    """Park until ``signal(event)`` (e.g. "a predecessor finished"), or ``until`` at the latest."""

    event: str
    until: float


Outcome = Done | Retry | Dead | RunAt | WaitFor
