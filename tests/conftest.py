"""Shared fixtures: both storage engines, behind one parametrized ``store`` fixture."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.base import TxStore
from app.store.mongo import MongoStore
from app.store.sqlite import SqliteStore
from tests.mongo_server import mongo_server

# The loopback webhook receivers (``receiver``, ``receiver_factory``), for every suite.
pytest_plugins = ["tests.receivers"]

ENGINES = ["sqlite", "mongodb"]


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mongo_server(tmp_path_factory.mktemp("mongo")) as url:
        yield url


def make_store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> TxStore:
    if engine == "sqlite":
        return SqliteStore(str(tmp_path / "refractor.db"))
    url = request.getfixturevalue("mongo_url")
    db = "t_" + uuid.uuid4().hex[:12]
    return MongoStore(url.rstrip("/") + "/" + db)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    if request.param == "mongodb":
        request.applymarker(pytest.mark.mongo)
    return str(request.param)


@pytest.fixture
def store(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[TxStore]:
    s = make_store(engine, tmp_path, request)
    s.ensure_schema()
    yield s
    if isinstance(s, MongoStore):
        s.txs.database.client.drop_database(s.txs.database.name)
    s.close()
