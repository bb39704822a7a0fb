"""The schema version in the database: recorded by init-db, guarding rolling releases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.store.base import TxStore
from app.store.schema import (
    CONTROL_NAME,
    OLDEST_COMPATIBLE,
    SCHEMA_VERSION,
    SchemaRefused,
    SchemaState,
    decide,
    ensure_version,
    stored,
)


def test_first_init_records_the_code_version_and_a_second_changes_nothing(store: TxStore) -> None:
    assert stored(store) is None
    assert ensure_version(store) == SchemaState(SCHEMA_VERSION, OLDEST_COMPATIBLE)
    recorded = store.controls.get(CONTROL_NAME)
    assert recorded == {"version": SCHEMA_VERSION, "oldestCompatible": OLDEST_COMPATIBLE}
    assert ensure_version(store) == SchemaState(SCHEMA_VERSION, OLDEST_COMPATIBLE)


def test_data_newer_than_the_code_is_refused_only_when_incompatible(store: TxStore) -> None:
    store.controls.set(CONTROL_NAME, {"version": SCHEMA_VERSION + 1, "oldestCompatible": SCHEMA_VERSION})
    assert ensure_version(store).version == SCHEMA_VERSION + 1, "rollback onto compatible data works"
    store.controls.set(CONTROL_NAME, {"version": SCHEMA_VERSION + 2, "oldestCompatible": SCHEMA_VERSION + 1})
    with pytest.raises(SchemaRefused, match="needs code of schema"):
        ensure_version(store)
    assert store.controls.get(CONTROL_NAME) == {
        "version": SCHEMA_VERSION + 2,
        "oldestCompatible": SCHEMA_VERSION + 1,
    }


@pytest.mark.parametrize(
    ("current", "code", "allow", "expected"),
    [
        (None, SchemaState(1, 1), False, SchemaState(1, 1)),
        (SchemaState(1, 1), SchemaState(1, 1), False, None),
        (SchemaState(1, 1), SchemaState(2, 1), False, SchemaState(2, 1)),  # additive: old code copes
        (SchemaState(1, 1), SchemaState(2, 2), True, SchemaState(2, 2)),  # breaking, operator said so
        (SchemaState(2, 1), SchemaState(1, 1), False, None),  # rollback onto compatible data
    ],
)
def test_decide(
    current: SchemaState | None, code: SchemaState, allow: bool, expected: SchemaState | None
) -> None:
    assert decide(current, code, allow) == expected


def test_breaking_migration_is_refused_without_the_flag() -> None:
    with pytest.raises(SchemaRefused, match="--allow-breaking-migration"):
        decide(SchemaState(1, 1), SchemaState(2, 2), allow_breaking=False)
    with pytest.raises(SchemaRefused, match="needs code of schema 2"):
        decide(SchemaState(2, 2), SchemaState(1, 1), allow_breaking=True)


def test_init_db_command_refuses_incompatible_data_with_a_clear_message(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"storage": "sqlite", "db": str(tmp_path / "r.db"),
                               "networks": {"testnet": {"passphrase": "Test SDF Network ; September 2015",
                                                        "horizon": "http://127.0.0.1:9/horizon"}}}))
    env = {"REFRACTOR_CONFIG": str(cfg), "PATH": "/usr/bin:/bin"}

    def init_db(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "app", "init-db", *extra], env=env, text=True,
                              capture_output=True, timeout=120, check=False)

    first = init_db()
    assert first.returncode == 0 and f"schema {SCHEMA_VERSION}" in first.stdout, first.stderr
    import sqlite3

    with sqlite3.connect(tmp_path / "r.db") as db:
        db.execute("UPDATE controls SET value = ? WHERE name = ?",
                   (json.dumps({"version": SCHEMA_VERSION + 5, "oldestCompatible": SCHEMA_VERSION + 5}),
                    CONTROL_NAME))
    refused = init_db("--allow-breaking-migration")
    assert refused.returncode == 3 and "init-db refused" in refused.stderr, refused.stderr
