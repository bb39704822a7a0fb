"""Session fixture for the deploy end-to-end tests (marker e2e)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.deploy.e2e_stack import Stack, unavailable_reason


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = unavailable_reason()
    if reason:
        banner = "!" * 78
        print(f"\n{banner}\nDEPLOY E2E TESTS SKIPPED: {reason}\n{banner}", file=sys.__stderr__)
        pytest.skip(f"DEPLOY E2E SKIPPED: {reason}")
    s = Stack(tmp_path_factory.mktemp("e2e"))
    try:
        s.start()
        yield s
    finally:
        s.stop()
