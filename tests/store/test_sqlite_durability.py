"""SQLite durability settings: WAL with synchronous=FULL unless the operator chooses NORMAL."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import parse_settings
from app.settings import ConfigError
from app.store import open_store
from app.store.cosigners import open_cosigner_store
from app.store.cosigners_sqlite import SqliteCosignerStore
from app.store.sqlite import SqliteStore

FULL, NORMAL = 2, 1  # PRAGMA synchronous answers with numbers


def _pragmas(store: SqliteStore | SqliteCosignerStore) -> tuple[str, int]:
    conn = store._conn()
    return conn.execute("PRAGMA journal_mode").fetchone()[0], conn.execute(
        "PRAGMA synchronous").fetchone()[0]


def test_default_is_wal_with_full_sync(tmp_path: Path) -> None:
    settings = parse_settings({"db": str(tmp_path / "r.db")}, {})
    assert settings.sqlite_synchronous == "FULL"
    store, cosigners = open_store(settings), open_cosigner_store(settings)
    assert isinstance(store, SqliteStore) and isinstance(cosigners, SqliteCosignerStore)
    try:
        store.ensure_schema()
        cosigners.ensure_schema()
        assert _pragmas(store) == ("wal", FULL)
        assert _pragmas(cosigners) == ("wal", FULL)
    finally:
        store.close()
        cosigners.close()


def test_normal_is_the_operators_choice(tmp_path: Path) -> None:
    settings = parse_settings({"db": str(tmp_path / "r.db"), "sqliteSynchronous": "normal"}, {})
    assert settings.sqlite_synchronous == "NORMAL"
    store = open_store(settings)
    assert isinstance(store, SqliteStore)
    try:
        store.ensure_schema()
        assert _pragmas(store) == ("wal", NORMAL)
    finally:
        store.close()


@pytest.mark.parametrize("value", ["OFF", "", 2, None, "FULL; DROP TABLE txs"])
def test_other_values_are_refused_with_the_key_named(value: object) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings({"sqliteSynchronous": value}, {})
    assert "sqliteSynchronous" in str(caught.value) and "FULL, NORMAL" in str(caught.value)


def test_the_store_refuses_a_value_it_would_paste_into_sql(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SqliteStore(str(tmp_path / "r.db"), "OFF; DROP TABLE txs")
