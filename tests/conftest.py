"""Shared fixtures: both storage engines, behind one parametrized ``store`` fixture."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from app.store.base import TxStore
from app.store.mongo import MongoStore
from app.store.sqlite import SqliteStore
from tests.mongo_server import mongo_server

# The loopback webhook receivers (``receiver``, ``receiver_factory``), for every suite.
pytest_plugins = ["tests.receivers"]

ENGINES = ["sqlite", "mongodb"]

# Property tests prove rules, not speed: on a loaded machine one example can take longer than
# Hypothesis's 200 ms deadline (or its generation look "too slow") and fail a correct test as
# flaky. Tests' own @settings add to this profile.
settings.register_profile("refractor", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("refractor")


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


# -- running in parallel (pytest-xdist, as scripts/test.sh does) --------------------------------


def _file(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def _group(item: pytest.Item) -> str:
    """Which worker-sharing unit a test belongs to under ``--dist loadgroup``."""
    path = _file(item)
    if path.startswith("tests/ui/"):
        return "browser"  # one Chromium, one UI server, one server log: all on one worker
    if item.get_closest_marker("slow") is not None:
        return item.nodeid  # long on its own, and builds what it needs itself: spread them out
    return path  # a file's module-scoped servers are started once


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, tag each test with its group, and hand out the long groups first: a
    long group dealt last would run alone at the end while the other workers sit idle. Runs
    without xdist keep the files' order."""
    if not hasattr(config, "workerinput"):
        return
    long_files = {_file(item) for item in items
                  if item.get_closest_marker("slow") or item.get_closest_marker("browser")}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))
    # Files with slow tests first (their other tests often share a long module-scoped setup);
    # sort is stable, so within a file and among the rest the collection order stays.
    items.sort(key=lambda item: _file(item) not in long_files)
