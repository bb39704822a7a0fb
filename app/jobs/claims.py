"""What one claim takes: the per-group caps, decided here once for every engine (no I/O).

A claim wants up to ``limit`` due jobs of a kind. A kind with a per-group cap (callbacks: at most
N at once per receiver host) must not take more than the cap from one group, counting what this
process already runs there. An engine claims in rounds: it asks ``next_read`` how many candidates
to read and which groups to leave out of the query (those at their cap), reads them (longest
overdue first), gives them to ``choose``, leases the chosen ones and reports how many it got with
``leased``. Leaving full groups out in the query bounds the work by ``limit`` however many due jobs
a full group has; a round takes at least one job or fills at least one group, or finds its
candidates taken by other processes (they are not due any more), so the rounds end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

Candidate = tuple[str, str | None]  # (job id, group)


def groups_at_cap(running: Mapping[str, int], cap: int | None) -> list[str]:
    """The groups in which ``running`` (jobs per group) has reached ``cap``, sorted."""
    if cap is None:
        return []
    return sorted(group for group, n in running.items() if n >= cap)


@dataclass
class ClaimPlan:
    limit: int
    per_group: int | None = None
    skip: set[str] = field(default_factory=set)  # groups left out: full before, or filled now
    taken: Counter[str] = field(default_factory=Counter)
    claimed: int = 0
    rounds: int = 0
    _done: bool = False

    @classmethod
    def start(cls, limit: int, skip_groups: Collection[str] = (),
              per_group: int | None = None) -> ClaimPlan:
        return cls(limit=max(0, limit), per_group=per_group, skip=set(skip_groups))

    def next_read(self) -> tuple[int, list[str]] | None:
        """(candidates to read, groups to leave out of the query), or None: the claim is over."""
        if self._done or self.claimed >= self.limit or self.rounds > 2 * self.limit:
            return None
        self.rounds += 1
        return self.limit - self.claimed, sorted(self.skip)

    def choose(self, candidates: Sequence[Candidate]) -> list[str]:
        """The ids to lease among this round's ``candidates`` (read per ``next_read``), in order.
        Fewer candidates than asked for means there are no more: the next read ends the claim."""
        want = self.limit - self.claimed
        if len(candidates) < want:
            self._done = True
        chosen: list[str] = []
        for job_id, group in candidates[:want]:
            if group is not None and group in self.skip:
                continue  # the query should have left it out; never more than the cap
            if self.per_group is not None and group is not None:
                if self.taken[group] >= self.per_group:
                    self.skip.add(group)
                    continue
                self.taken[group] += 1
                if self.taken[group] >= self.per_group:
                    self.skip.add(group)
            chosen.append(job_id)
        return chosen

    def leased(self, count: int) -> None:
        """How many of the chosen ids the engine leased (others may have taken some meanwhile)."""
        self.claimed += count

