"""The per-group cap decision of a claim (app/jobs/claims.py), without any store."""

from __future__ import annotations

from collections.abc import Sequence

from app.jobs.claims import Candidate, ClaimPlan, groups_at_cap


def run(plan: ClaimPlan, due: Sequence[Candidate], lost: set[str] | None = None
        ) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Drive ``plan`` over the due jobs as an engine would (in order, leaving out the skipped
    groups, and what it leased is no longer due); ``lost`` are taken by another process before
    this one can lease them. Returns what was leased and every read the plan asked for."""
    pending = list(due)
    leased: list[str] = []
    reads: list[tuple[int, list[str]]] = []
    while (read := plan.next_read()) is not None:
        want, skip = read
        reads.append(read)
        found = [c for c in pending if c[1] is None or c[1] not in skip][:want]
        chosen = plan.choose(found)
        got = [i for i in chosen if i not in (lost or set())]
        plan.leased(len(got))
        leased += got
        pending = [c for c in pending if c[0] not in chosen]
    return leased, reads


def test_groups_at_cap() -> None:
    assert groups_at_cap({"b": 2, "a": 3, "c": 1}, 2) == ["a", "b"]
    assert groups_at_cap({"b": 2}, None) == []


def test_without_a_cap_it_takes_the_first_limit_in_one_read() -> None:
    due = [(f"j{n}", "g" if n % 2 else None) for n in range(10)]
    leased, reads = run(ClaimPlan.start(4), due)
    assert leased == ["j0", "j1", "j2", "j3"] and reads == [(4, [])]


def test_a_group_gives_at_most_its_cap_and_later_reads_leave_it_out() -> None:
    due = [("b1", "busy"), ("b2", "busy"), ("b3", "busy"), ("b4", "busy"), ("x", None),
           ("o1", "other")]
    leased, reads = run(ClaimPlan.start(4, per_group=2), due)
    assert leased == ["b1", "b2", "x", "o1"]
    assert reads == [(4, []), (2, ["busy"])]


def test_groups_full_before_the_claim_are_left_out_from_the_first_read() -> None:
    due = [("b1", "busy"), ("a1", "a"), ("a2", "a")]
    plan = ClaimPlan.start(5, skip_groups=["busy"], per_group=1)
    leased, reads = run(plan, due)
    assert leased == ["a1"] and reads[0] == (5, ["busy"])


def test_a_candidate_of_a_skipped_group_is_never_chosen() -> None:
    plan = ClaimPlan.start(3, skip_groups=["busy"])
    assert plan.next_read() == (3, ["busy"])
    assert plan.choose([("b1", "busy"), ("x", None)]) == ["x"]


def test_a_cap_of_zero_takes_nothing_from_the_group() -> None:
    leased, _ = run(ClaimPlan.start(3, per_group=0), [("g1", "g"), ("x", None)])
    assert leased == ["x"]


def test_nothing_wanted_reads_nothing() -> None:
    assert ClaimPlan.start(0).next_read() is None
    assert ClaimPlan.start(-3, per_group=1).next_read() is None


def test_fewer_candidates_than_wanted_ends_the_claim() -> None:
    leased, reads = run(ClaimPlan.start(10), [("a", None)])
    assert leased == ["a"] and len(reads) == 1


def test_candidates_lost_to_another_process_are_made_up_by_another_read() -> None:
    due = [(f"j{n}", None) for n in range(6)]
    leased, reads = run(ClaimPlan.start(3), due, lost={"j0", "j1"})
    assert leased == ["j2", "j3", "j4"] and reads == [(3, []), (2, [])]


def test_the_rounds_are_bounded_when_every_candidate_is_lost() -> None:
    due = [(f"j{n}", None) for n in range(100)]
    leased, reads = run(ClaimPlan.start(3), due, lost={f"j{n}" for n in range(100)})
    assert leased == [] and len(reads) == 2 * 3 + 1
