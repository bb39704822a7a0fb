"""The backoff policy (exponential, capped, jittered, Retry-After within bounds) and the adaptive
concurrency limit (AIMD)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.jobs.limits import AdaptiveLimit
from app.jobs.policy import Backoff


def test_grows_exponentially_until_the_cap() -> None:
    b = Backoff(base=1.0, cap=60.0)
    assert [b.delay(n, rand=lambda: 1.0) for n in range(1, 6)] == [1, 2, 4, 8, 16]
    assert b.delay(30, rand=lambda: 1.0) == 60.0
    assert b.delay(10_000, rand=lambda: 1.0) == 60.0


def test_jitter_keeps_half_to_all_of_the_delay() -> None:
    b = Backoff(base=1.0)
    assert b.delay(1, rand=lambda: 0.0) == 0.5
    assert b.delay(3, rand=lambda: 0.5) == 3.0
    assert len({b.delay(4) for _ in range(50)}) > 1


def test_retry_after_wins_when_later_within_bounds() -> None:
    b = Backoff(base=1.0, cap=60.0, retry_after_max=120.0)
    assert b.delay(1, retry_after=30.0, rand=lambda: 1.0) == 30.0
    assert b.delay(1, retry_after=10_000.0, rand=lambda: 1.0) == 120.0  # bounded
    assert b.delay(5, retry_after=1.0, rand=lambda: 1.0) == 16.0  # sooner than planned: ignored


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(base=1.0).delay(0)
    with pytest.raises(ValueError):
        Backoff(base=-1.0).delay(1)


@given(st.integers(1, 10_000), st.floats(0, 100), st.floats(0, 1))
def test_never_negative_never_past_the_cap(attempt: int, base: float, jitter: float) -> None:
    b = Backoff(base=base, cap=50.0)
    assert 0 <= b.delay(attempt, rand=lambda: jitter) <= 50.0


def test_aimd_grows_after_sustained_success() -> None:
    limit = AdaptiveLimit(4, 2, 6, adaptive=True, grow_after=3)
    for _ in range(3):
        limit.success()
    assert limit.limit == 5
    for _ in range(30):
        limit.success()
    assert limit.limit == 6  # never above the maximum


def test_aimd_halves_on_overload_within_the_minimum() -> None:
    limit = AdaptiveLimit(8, 3, 10, adaptive=True)
    limit.overload()  # TRY_AGAIN_LATER or a timeout
    assert limit.limit == 4
    limit.overload()
    assert limit.limit == 3  # never below the minimum
    limit.overload()
    assert limit.limit == 3


def test_fixed_limit_does_not_adapt() -> None:
    limit = AdaptiveLimit(4, 1, 8, adaptive=False)
    limit.overload()
    for _ in range(100):
        limit.success()
    assert limit.limit == 4


def test_slots_respect_the_limit() -> None:
    limit = AdaptiveLimit(2, 1, 2, adaptive=False)
    assert limit.try_acquire() and limit.try_acquire()
    assert not limit.try_acquire()
    limit.release()
    assert limit.free() == 1
