"""Fixtures for the fake network's own tests (other suites can import these too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stellar_sdk import Keypair

from .ledger import Ledger
from .server import FakeStellarNetwork


@pytest.fixture
def ledger() -> Ledger:
    return Ledger()


@pytest.fixture
def net() -> Iterator[FakeStellarNetwork]:
    with FakeStellarNetwork() as network:
        yield network


@pytest.fixture
def keys() -> list[Keypair]:
    """Eight fresh keypairs; tests name them by position."""
    return [Keypair.random() for _ in range(8)]
