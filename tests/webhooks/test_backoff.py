"""backoff_delay: exponential growth, the cap, and jitter kept within 50-100% of the delay."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.webhooks.delivery import backoff_delay


def test_grows_exponentially_from_the_base() -> None:
    top = [backoff_delay(n, 1000, rand=lambda: 1.0) for n in range(1, 6)]
    assert top == [1.0, 2.0, 4.0, 8.0, 16.0]


def test_jitter_keeps_at_least_half_of_the_delay() -> None:
    assert backoff_delay(1, 1000, rand=lambda: 0.0) == 0.5
    assert backoff_delay(3, 1000, rand=lambda: 0.5) == 3.0


def test_is_capped() -> None:
    assert backoff_delay(30, 1000, cap_ms=60_000, rand=lambda: 1.0) == 60.0
    assert backoff_delay(10_000, 1000, rand=lambda: 1.0) == 3600.0


def test_a_zero_base_means_retry_at_once() -> None:
    assert backoff_delay(5, 0) == 0.0


@pytest.mark.parametrize(
    ("attempt", "base_ms", "cap_ms"), [(0, 1000, 10), (-1, 1000, 10), (1, -1, 10), (1, 1, -1)]
)
def test_rejects_nonsense(attempt: int, base_ms: int, cap_ms: int) -> None:
    with pytest.raises(ValueError):
        backoff_delay(attempt, base_ms, cap_ms)


@given(
    attempt=st.integers(min_value=1, max_value=10_000),
    base_ms=st.integers(min_value=0, max_value=600_000),
    cap_ms=st.integers(min_value=0, max_value=86_400_000),
    jitter=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_always_between_half_and_all_of_the_capped_delay(
    attempt: int, base_ms: int, cap_ms: int, jitter: float
) -> None:
    planned = min(base_ms * 2 ** min(attempt - 1, 64), cap_ms) / 1000
    delay = backoff_delay(attempt, base_ms, cap_ms, rand=lambda: jitter)
    assert planned / 2 <= delay <= planned


def test_uses_the_default_random_source() -> None:
    delays = {backoff_delay(4, 1000) for _ in range(50)}
    assert all(4.0 <= d < 8.0 for d in delays)
    assert len(delays) > 1
