"""Job kinds: what runs a job, with which pool, caps, lease and retry policy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.jobs.limits import AdaptiveLimit
from app.jobs.model import Job, Outcome
from app.jobs.policy import Backoff

if TYPE_CHECKING:
    from app.jobs.runner import JobContext

Handler = Callable[[Job, "JobContext"], Outcome]


@dataclass
class JobKind:
    name: str
    handler: Handler
    limit: AdaptiveLimit  # this kind's own pool size and concurrency cap, in this process
    backoff: Backoff
    max_attempts: int  # claims before a failing job is dead
    group_cap: int | None = None  # at most this many jobs of one group at once, per process
    # Called once when a job is given up (attempts spent, or an internal error each time), so
    # the record it is about can say so.
    on_dead: Callable[[Job, str], None] | None = None
    # The lease must outlast the longest run between two heartbeats; None: the runner's.
    lease_seconds: float | None = None


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, JobKind] = {}

    def register(self, kind: JobKind) -> JobKind:
        if kind.name in self._kinds:
            raise ValueError(f"job kind {kind.name!r} is registered already")
        self._kinds[kind.name] = kind
        return kind

    def get(self, name: str) -> JobKind:
        return self._kinds[name]

    def __iter__(self) -> Iterator[JobKind]:
        return iter(self._kinds.values())

    def __contains__(self, name: object) -> bool:
        return name in self._kinds
