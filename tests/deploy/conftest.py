"""Fixtures for the deploy end-to-end tests (marker e2e). Module-scoped: one environment at a time."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.deploy.e2e_stack import LAN_HOST_SIDE, Stack, unavailable_reason


def _environment(
    tmp_path_factory: pytest.TempPathFactory, extra_tools: tuple[str, ...] = (), **kwargs: object
) -> Iterator[Stack]:
    reason = unavailable_reason(extra_tools)
    if reason:
        banner = "!" * 78
        print(f"\n{banner}\nDEPLOY E2E TESTS SKIPPED: {reason}\n{banner}", file=sys.__stderr__)
        pytest.skip(f"DEPLOY E2E SKIPPED: {reason}")
    s = Stack(tmp_path_factory.mktemp("e2e"), **kwargs)  # type: ignore[arg-type]
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """inventories/e2e: one host with Nginx, two instances and SQLite, bootstrapped from root only."""
    yield from _environment(tmp_path_factory, bootstrap=True)


@pytest.fixture(scope="module")
def multi_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """inventories/e2e-multi: an Nginx host and two app hosts sharing an external MongoDB, in the
    split process layout; the second app host is reachable only through the Nginx host, which
    boots as a fresh VM does, without connection tracking until a rule needs it: the firewall
    role's first ufw enable there must not drop the SSH hop to that app host (issue 9)."""
    yield from _environment(
        tmp_path_factory,
        extra_tools=("nft",),
        env="e2e-multi",
        hosts=(32, 33, 34),
        service_address=LAN_HOST_SIDE,
        mongo=True,
        no_direct_ssh=(34,),
        conntrack_on_demand=(32,),
    )
