"""The ``refractor`` backup, restore and migrate subcommands, run as an operator would."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from app.store.sqlite import SqliteStore
from tests.maintenance.helpers import fill, fill_all
from tests.maintenance.originals import original_database

REFRACTOR = str(Path(sys.executable).with_name("refractor"))


def config(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"storage": "sqlite", "db": str(tmp_path / f"{name}.db"),
                                "networks": {"testnet": {"horizon": "http://127.0.0.1:9/"}}}))
    return path


def refractor(cfg: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REFRACTOR_")}
    env["REFRACTOR_CONFIG"] = str(cfg)
    return subprocess.run([REFRACTOR, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


def records(db: Path) -> list[object]:
    store = SqliteStore(str(db))
    try:
        return list(store.iter_all())
    finally:
        store.close()


def test_backup_and_restore_end_to_end(tmp_path: Path) -> None:
    source_cfg, target_cfg = config(tmp_path, "r"), config(tmp_path, "r2")
    live = SqliteStore(str(tmp_path / "r.db"))
    live.ensure_schema()
    fill(live)
    live.close()

    made = refractor(source_cfg, "backup", "--output", str(tmp_path / "b.tar.gz"))
    assert made.returncode == 0, made.stderr
    assert "5 records, 4 signatures" in made.stdout
    assert stat.S_IMODE((tmp_path / "b.tar.gz").stat().st_mode) == 0o600

    restored = refractor(target_cfg, "restore", str(tmp_path / "b.tar.gz"))
    assert restored.returncode == 0, restored.stderr
    assert "read back and verified" in restored.stdout
    assert records(tmp_path / "r2.db") == records(tmp_path / "r.db")

    again = refractor(target_cfg, "restore", str(tmp_path / "b.tar.gz"))
    assert again.returncode == 1 and "--force" in again.stderr and "Traceback" not in again.stderr
    forced = refractor(target_cfg, "restore", "--force", str(tmp_path / "b.tar.gz"))
    assert forced.returncode == 0, forced.stderr

    # the default name, relative to the working directory
    default = refractor(source_cfg, "backup", cwd=tmp_path)
    assert default.returncode == 0, default.stderr
    [archive] = (tmp_path / "var" / "backups").glob("refractor-*Z.tar.gz")
    assert str(archive) in default.stdout


def test_backup_verify_and_machine_readable_results(tmp_path: Path) -> None:
    cfg = config(tmp_path, "v")
    live = SqliteStore(str(tmp_path / "v.db"))
    live.ensure_schema()
    fill_all(live)
    live.close()
    made = refractor(cfg, "backup", "--json", "-o", str(tmp_path / "b.tar.gz"))
    assert made.returncode == 0, made.stderr
    result = json.loads(made.stdout)
    assert result["path"] == str(tmp_path / "b.tar.gz")
    assert result["manifest"]["collections"]["jobs"]["count"] == 2

    verified = refractor(cfg, "backup", "verify", "--json", str(tmp_path / "b.tar.gz"))
    assert verified.returncode == 0, verified.stderr
    counts = {"records": 5, "jobs": 2, "controls": 2, "auth_challenges": 0, "subscriptions": 0,
              "subscription_events": 0, "event_quota": 0}
    assert json.loads(verified.stdout)["counts"] == counts
    text = refractor(cfg, "backup", "verify", str(tmp_path / "b.tar.gz"))
    assert ("(format 3): 5 records, 4 signatures, 2 jobs, 2 controls, 0 auth_challenges, "
            "0 subscriptions, 0 subscription_events, 0 event_quota" in text.stdout), text.stdout
    (tmp_path / "bad.tar.gz").write_bytes((tmp_path / "b.tar.gz").read_bytes()[:300])
    broken = refractor(cfg, "backup", "verify", str(tmp_path / "bad.tar.gz"))
    assert broken.returncode == 1 and broken.stderr.startswith("refractor backup verify: error: ")

    restored = refractor(cfg, "restore", "--force", "--json", "--safety-backup",
                         str(tmp_path / "safety.tar.gz"), str(tmp_path / "b.tar.gz"))
    assert restored.returncode == 0, restored.stderr
    report = json.loads(restored.stdout)
    assert report["restored"] == report["previously"] == counts
    assert report["safety_backup"] == str(tmp_path / "safety.tar.gz")
    assert stat.S_IMODE((tmp_path / "safety.tar.gz").stat().st_mode) == 0o600


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read"),
    (b"\x1f\x8b\x08\x00garbage", "corrupt or truncated"),
    (b"plain text", "corrupt or truncated"),
])
def test_restore_errors_are_one_line_without_traceback(tmp_path: Path, content: bytes | None,
                                                       message: str) -> None:
    archive = tmp_path / "bad.tar.gz"
    if content is not None:
        archive.write_bytes(content)
    result = refractor(config(tmp_path, "t"), "restore", str(archive))
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("refractor restore: error: ")
    assert not (tmp_path / "t.db").exists()  # the archive is checked before the store is opened


def test_backup_of_missing_database_does_not_create_it(tmp_path: Path) -> None:
    result = refractor(config(tmp_path, "none"), "backup", "-o", str(tmp_path / "b.tar.gz"))
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "b.tar.gz").exists()


def test_bad_config_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.json"
    cfg.write_text(json.dumps({"storage": "postgres"}))
    result = refractor(cfg, "backup")
    assert result.returncode == 2 and "storage" in result.stderr and "Traceback" not in result.stderr


def test_migrate_data_json_dry_run_then_for_real(tmp_path: Path) -> None:
    original = original_database()
    testnet = {tx.hash: tx.file_entry() for tx in original.valid.values() if tx.doc["network"] == 1}
    (tmp_path / "data.json").write_text(json.dumps(testnet))
    cfg = config(tmp_path, "m")

    dry = refractor(cfg, "migrate", "--from-original-file", str(tmp_path / "data.json"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing was written" in dry.stdout and "would import: 6" in dry.stdout
    assert not (tmp_path / "m.db").exists()

    real = refractor(cfg, "migrate", "--from-original-file", str(tmp_path / "data.json"))
    assert real.returncode == 0, real.stderr
    assert "imported: 6" in real.stdout and "skipped (already present): 0" in real.stdout
    assert len(records(tmp_path / "m.db")) == 6

    again = refractor(cfg, "migrate", "--from-original-file", str(tmp_path / "data.json"))
    assert "imported: 0" in again.stdout and "skipped (already present): 6" in again.stdout


def test_migrate_from_config_copies_another_store(tmp_path: Path) -> None:
    source = SqliteStore(str(tmp_path / "src.db"))
    source.ensure_schema()
    fill(source)
    source.close()
    result = refractor(config(tmp_path, "dst"), "migrate", "--from-config",
                       str(config(tmp_path, "src")))
    assert result.returncode == 0, result.stderr
    assert "imported: 5" in result.stdout
    assert records(tmp_path / "dst.db") == records(tmp_path / "src.db")
    same = refractor(config(tmp_path, "dst"), "migrate", "--from-config", str(config(tmp_path, "dst")))
    assert same.returncode == 1 and "same store" in same.stderr


@pytest.mark.mongo
def test_migrate_from_original_mongo(tmp_path: Path, mongo_url: str) -> None:
    original = original_database()
    name = "orig_" + uuid.uuid4().hex[:10]
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_url)
    with client:
        client[name]["tx"].insert_many([tx.mongo_doc() for tx in original.valid.values()])
        try:
            uri = mongo_url.rstrip("/") + "/" + name
            result = refractor(config(tmp_path, "mm"), "migrate", "--from-original-mongo", uri)
        finally:
            client.drop_database(name)
    assert result.returncode == 0, result.stderr
    assert f"database '{name}', collection 'tx'" in result.stdout
    # the config only knows testnet, so the public-network record is reported, not imported
    assert "imported: 6" in result.stdout and "invalid: 1" in result.stdout
    assert "no configured network uses the public passphrase" in result.stdout
