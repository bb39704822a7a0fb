"""Fixtures for the operator command tests: extra stores of either engine, configured networks."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.config import parse_settings
from app.settings import NetworkSettings
from app.store.base import TxStore
from app.store.mongo import MongoStore
from tests.conftest import make_store

MakeStore = Callable[[str], TxStore]


@pytest.fixture
def fresh_store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MakeStore]:
    """Make more empty stores of a given engine ("sqlite" or "mongodb"), dropped afterwards."""
    made: list[TxStore] = []
    counter = itertools.count()

    def make(engine: str) -> TxStore:
        store = make_store(engine, tmp_path / f"fresh{next(counter)}", request)
        store.ensure_schema()
        made.append(store)
        return store

    yield make
    for store in made:
        if isinstance(store, MongoStore):
            store.txs.database.client.drop_database(store.txs.database.name)
        store.close()


@pytest.fixture
def networks() -> dict[str, NetworkSettings]:
    raw = {"networks": {"public": {"horizon": "http://127.0.0.1:9/"},
                        "testnet": {"horizon": "http://127.0.0.1:9/"}}}
    return parse_settings(raw, {}).networks
