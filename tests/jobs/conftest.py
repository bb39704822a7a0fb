"""Fixtures shared by the job queue's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.jobs.runner import Runner


@pytest.fixture
def runners() -> Iterator[list[Runner]]:
    """Runners a test starts; each is stopped when the test ends."""
    started: list[Runner] = []
    yield started
    for r in started:
        r.stop(5)
