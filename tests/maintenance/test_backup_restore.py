"""Backup and restore on both engines, across engines, and against damaged archives."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import stat
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from app.maintenance import MaintenanceError
from app.maintenance.backup import default_output, write_backup
from app.maintenance.restore import open_backup, restore_backup
from app.maintenance.snapshot import everything
from app.store.base import TxStore
from app.store.cosigners import EventDelivery
from app.store.mongo import MongoStore
from app.store.sqlite import SqliteStore
from app.txs.model import TxRecord, TxStatus
from tests.conftest import make_store
from tests.maintenance.conftest import MakeStore
from tests.maintenance.helpers import (
    SAMPLE_CONTROLS,
    add_subscriptions,
    as_sets,
    cosigners_of,
    exported,
    fill,
    fill_all,
    h,
    other_engine,
    sample_records,
)


def backup_of(store: TxStore, tmp_path: Path) -> Path:
    return write_backup(store, tmp_path / "out" / "backup.tar.gz").path


def restore_into(target: TxStore, archive: Path, force: bool = False) -> None:
    with open_backup(archive) as backup:
        restore_backup(target, backup, force=force)


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def pack(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_backup_wipe_restore_is_identical(store: TxStore, engine: str, fresh_store: MakeStore,
                                          tmp_path: Path) -> None:
    fill(store)
    archive = backup_of(store, tmp_path)
    target = fresh_store(engine)
    restore_into(target, archive)
    # sources and signers come back as sorted sets on either engine (SQLite keeps them as rows)
    before, after = as_sets(list(store.iter_all())), list(target.iter_all())
    assert after == before
    assert len(after) == 5 and sum(len(r.signatures) for r in after) == 4
    # floats survive bit for bit, bytes byte for byte
    expected = sample_records()
    assert after[0].created_at == expected[0].created_at == 1764370000.123456789
    assert after[1].signatures[0].added_at == expected[1].signatures[0].added_at
    assert after[1].signatures[1].signature == b"\xff" * 64
    assert after[0].derived == expected[0].derived


def test_archive_layout_and_manifest(store: TxStore, engine: str, tmp_path: Path) -> None:
    fill_all(store)
    cosigners = cosigners_of(store)
    add_subscriptions(cosigners)
    result = write_backup(store, tmp_path / "out" / "b.tar.gz", cosigners)
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert sorted(p.name for p in result.path.parent.iterdir()) == ["b.tar.gz"]  # no temp files left
    files = members(result.path)
    assert list(files) == ["manifest.json", "records.jsonl", "jobs.jsonl", "controls.jsonl",
                           "auth_challenges.jsonl", "subscriptions.jsonl",
                           "subscription_events.jsonl", "event_quota.jsonl"]
    manifest = json.loads(files["manifest.json"])
    assert manifest == result.manifest
    assert manifest["format"] == "refractor-backup" and manifest["format_version"] == 3
    assert manifest["source_engine"] == engine and manifest["consistency"] == "snapshot"
    assert manifest["record_count"] == 5 and manifest["signature_count"] == 4
    assert manifest["counts_by_status"] == {s.value: 1 for s in TxStatus}
    collections = manifest["collections"]
    assert collections["subscriptions"]["count"] == 2
    for name, entry in collections.items():
        assert entry["file"] == f"{name}.jsonl"
        assert entry["store"] == ("transactions" if name in ("records", "jobs", "controls")
                                  else "cosigners")
        assert entry["sha256"] == hashlib.sha256(files[entry["file"]]).hexdigest()
        assert entry["bytes"] == len(files[entry["file"]])
        assert len(entry["digest"]) == 64
    assert collections["records"]["count"] == 5 and collections["records"]["signatures"] == 4
    assert collections["jobs"]["count"] == 2
    assert collections["jobs"]["counts_by_status"] == {"deliver_callback/running": 1,
                                                       "deliver_callback/succeeded": 1}
    assert collections["controls"]["count"] == 2
    controls = [json.loads(line) for line in files["controls.jsonl"].splitlines()]
    assert controls == [{"name": k, "value": v} for k, v in sorted(SAMPLE_CONTROLS.items())]
    assert manifest["created_at"].endswith("Z") and manifest["app_version"]
    lines = files["records.jsonl"].decode().splitlines()
    first = json.loads(lines[0])
    assert first["hash"] == h(1) and first["status"] == "pending"
    assert first["signatures"][0]["signature"] == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygp" \
                                                  "KissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="


def test_empty_store_round_trips(store: TxStore, engine: str, fresh_store: MakeStore,
                                 tmp_path: Path) -> None:
    archive = backup_of(store, tmp_path)
    target = fresh_store(engine)
    restore_into(target, archive)
    assert list(target.iter_all()) == []


def test_default_output_name() -> None:
    from datetime import UTC, datetime

    path = default_output(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert path == Path("var/backups/refractor-20260102T030405Z.tar.gz")


@pytest.mark.mongo
def test_restore_across_engines(store: TxStore, engine: str, fresh_store: MakeStore,
                                tmp_path: Path) -> None:
    fill(store)
    archive = backup_of(store, tmp_path)
    target = fresh_store(other_engine(engine))
    restore_into(target, archive)
    assert as_sets(list(target.iter_all())) == as_sets(list(store.iter_all()))
    assert as_sets(list(target.iter_all())) == as_sets(sample_records())
    # and back again
    again = fresh_store(engine)
    restore_into(again, backup_of(target, tmp_path / "second"))
    assert as_sets(list(again.iter_all())) == as_sets(sample_records())


def test_non_empty_target_refused_without_force(store: TxStore, engine: str,
                                                fresh_store: MakeStore, tmp_path: Path) -> None:
    fill(store)
    archive = backup_of(store, tmp_path)
    target = fresh_store(engine)
    stranger = TxRecord(h(99), "testnet", "X", TxStatus.PENDING, 1.5, 2.5)
    changed = sample_records()[0]
    changed.status, changed.signatures, changed.sig_count = TxStatus.FAILED, [], 0
    fill(target, [stranger, changed])
    with pytest.raises(MaintenanceError, match="not empty \\(2 records.*--force"):
        restore_into(target, archive)
    assert [r.hash for r in target.iter_all()] == [h(1), h(99)]
    assert target.get(h(1)).status is TxStatus.FAILED  # type: ignore[union-attr]

    restore_into(target, archive, force=True)
    got = {r.hash: r for r in target.iter_all()}
    assert sorted(got) == [h(1), h(2), h(3), h(4), h(5)]  # a point in time: the stranger is gone
    assert got[h(1)].status is TxStatus.PENDING and len(got[h(1)].signatures) == 1


def test_format_1_archives_still_restore(store: TxStore, engine: str, fresh_store: MakeStore,
                                         tmp_path: Path) -> None:
    fill_all(store)
    files = members(backup_of(store, tmp_path))
    records = files["records.jsonl"]
    v2 = json.loads(files["manifest.json"])
    v1 = {"format": "refractor-backup", "format_version": 1, "record_count": 5,
          "signature_count": 4, "counts_by_status": v2["counts_by_status"],
          "records_file": "records.jsonl", "records_bytes": len(records),
          "records_sha256": hashlib.sha256(records).hexdigest(),
          "records_digest": v2["collections"]["records"]["digest"]}
    old = pack(tmp_path / "v1.tar.gz", {"manifest.json": json.dumps(v1).encode(),
                                        "records.jsonl": records})
    target = fresh_store(engine)
    restore_into(target, old)
    assert as_sets(list(target.iter_all())) == as_sets(list(store.iter_all()))
    assert {name: rows for name, rows in exported(target).items() if rows} == {
        "records": exported(store)["records"]}


def test_verify_restores_into_a_scratch_database(store: TxStore, engine: str,
                                                 tmp_path: Path) -> None:
    from app.maintenance.verify import verify_backup

    fill_all(store)
    cosigners = cosigners_of(store)
    [sub, _] = add_subscriptions(cosigners)
    assert cosigners.use_challenge("challenge-1", 1e10, 1.0)
    cosigners.add_event(EventDelivery("msg_e1", sub.id, sub.account, h(1), "tx.ready",
                                      {"hash": h(1)}, 5.0, log=[{"at": 6.0, "status": 500}]))
    assert cosigners.take_quota(sub.account, 7, 10)
    archive = write_backup(store, tmp_path / "out" / "backup.tar.gz", cosigners).path
    report = verify_backup(archive)
    assert report["ok"] is True and report["source_engine"] == engine
    assert report["counts"] == {"records": 5, "jobs": 2, "controls": 2, "auth_challenges": 1,
                                "subscriptions": 2, "subscription_events": 1, "event_quota": 1}
    assert report["signatures"] == 4
    with pytest.raises(MaintenanceError, match="checksum|corrupt"):
        verify_backup(_flipped(archive, tmp_path))


Mutation = Callable[[Path, Path], Path]


def _truncated(archive: Path, tmp: Path) -> Path:
    data = archive.read_bytes()
    (tmp / "t.tar.gz").write_bytes(data[: len(data) // 2])
    return tmp / "t.tar.gz"


def _flipped(archive: Path, tmp: Path) -> Path:
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x55
    (tmp / "f.tar.gz").write_bytes(bytes(data))
    return tmp / "f.tar.gz"


def _tampered_records(archive: Path, tmp: Path) -> Path:
    files = members(archive)
    files["records.jsonl"] = files["records.jsonl"].replace(b'"status":"pending"', b'"status":"ready"')
    return pack(tmp / "r.tar.gz", files)


def _refiled(files: dict[str, bytes], name: str, data: bytes, tmp: Path) -> Path:
    """``name`` replaced by ``data`` with its checksum and size fixed up in the manifest."""
    manifest = json.loads(files["manifest.json"])
    entry = manifest["collections"][name.split(".")[0]]
    entry["sha256"], entry["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    return pack(tmp / "c.tar.gz", {**files, "manifest.json": json.dumps(manifest).encode(),
                                   name: data})


def _tampered_with_new_checksum(archive: Path, tmp: Path) -> Path:
    """Records altered and the checksum fixed up: the logical digest still catches it."""
    files = members(archive)
    records = files["records.jsonl"].replace(b'txBadSeq', b'txBadAuth')
    return _refiled(files, "records.jsonl", records, tmp)


def _dropped_record(archive: Path, tmp: Path) -> Path:
    files = members(archive)
    records = b"".join(files["records.jsonl"].splitlines(keepends=True)[1:])
    return _refiled(files, "records.jsonl", records, tmp)


def _dropped_job(archive: Path, tmp: Path) -> Path:
    files = members(archive)
    return _refiled(files, "jobs.jsonl", files["jobs.jsonl"].splitlines(keepends=True)[0], tmp)


def _unpaused(archive: Path, tmp: Path) -> Path:
    files = members(archive)
    controls = files["controls.jsonl"].replace(b'"paused":true', b'"paused":false')
    return _refiled(files, "controls.jsonl", controls, tmp)


def _without(name: str) -> Mutation:
    def mutate(archive: Path, tmp: Path) -> Path:
        return pack(tmp / "w.tar.gz", {k: v for k, v in members(archive).items() if k != name})
    return mutate


def _edit_manifest(path: str = "", **changes: Any) -> Mutation:
    def mutate(archive: Path, tmp: Path) -> Path:
        files = members(archive)
        manifest = json.loads(files["manifest.json"])
        target = manifest
        for key in filter(None, path.split(".")):
            target = target[key]
        target.update(changes)
        files["manifest.json"] = json.dumps(manifest).encode()
        return pack(tmp / "m.tar.gz", files)
    return mutate


def _without_manifest(archive: Path, tmp: Path) -> Path:
    return pack(tmp / "n.tar.gz", {"records.jsonl": members(archive)["records.jsonl"]})


def _extra_member(archive: Path, tmp: Path) -> Path:
    return pack(tmp / "e.tar.gz", {**members(archive), "../evil": b"x"})


def _not_gzip(archive: Path, tmp: Path) -> Path:
    (tmp / "g.tar.gz").write_bytes(b"this is not an archive\n" * 20)
    return tmp / "g.tar.gz"


def _missing(archive: Path, tmp: Path) -> Path:
    return tmp / "no-such-backup.tar.gz"


@pytest.mark.parametrize(("mutate", "message"), [
    (_truncated, "corrupt or truncated|checksum"),
    (_flipped, "corrupt or truncated|checksum"),
    (_tampered_records, "checksum"),
    (_tampered_with_new_checksum, "do not match the manifest's records.digest"),
    (_dropped_record,
     "records.count, records.signatures, records.counts_by_status, records.digest"),
    (_dropped_job, "jobs.count, jobs.counts_by_status, jobs.digest"),
    (_unpaused, "do not match the manifest's controls.digest"),
    (_without("jobs.jsonl"), "jobs.jsonl is missing"),
    (_without("auth_challenges.jsonl"), "auth_challenges.jsonl is missing"),
    (_edit_manifest("collections.records", count=6), "do not match the manifest's records.count"),
    (_edit_manifest("collections.controls", sha256="0" * 64), "controls.jsonl does not match its "
                                                              "checksum"),
    (_edit_manifest("collections.jobs", file="x.jsonl"), "jobs must be in"),
    (_edit_manifest("collections.jobs", store="cosigners"), "jobs belongs to the transactions"),
    (_edit_manifest(collections={}), "collection records is missing"),
    (_edit_manifest(format_version=4), "newer than this Refractor reads"),
    (_edit_manifest(format="something-else"), "not describe a Refractor backup"),
    (_without_manifest, "manifest.json is missing"),
    (_extra_member, "unexpected member '../evil'"),
    (_not_gzip, "corrupt or truncated"),
    (_missing, "cannot read .*no-such-backup"),
], ids=lambda v: getattr(v, "__name__", None))
def test_damaged_archives_are_rejected_before_writing(
        store: TxStore, engine: str, fresh_store: MakeStore, tmp_path: Path,
        mutate: Mutation, message: str) -> None:
    fill_all(store)
    archive = backup_of(store, tmp_path)
    bad = mutate(archive, tmp_path)
    target = fresh_store(engine)
    with pytest.raises(MaintenanceError, match=message):
        restore_into(target, bad)
    assert all(rows == {} for rows in exported(target).values())


class LossyStore:
    """A store whose import quietly drops signatures: read-back must notice."""

    def __init__(self, inner: TxStore) -> None:
        self.inner = inner

    def import_snapshot(self, collections: dict[str, Any]) -> None:
        records = ({**row, "signatures": []} for row in collections["records"])
        self.inner.import_snapshot({**collections, "records": records})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_read_back_catches_a_store_that_loses_data(store: TxStore, engine: str,
                                                   fresh_store: MakeStore, tmp_path: Path) -> None:
    fill(store)
    archive = backup_of(store, tmp_path)
    with pytest.raises(MaintenanceError, match=f"read-back verification failed: records {h(1)} differs"):
        restore_into(LossyStore(fresh_store(engine)), archive)


def test_sqlite_snapshot_is_taken_at_one_moment(tmp_path: Path,
                                                request: pytest.FixtureRequest) -> None:
    live = make_store("sqlite", tmp_path, request)
    live.ensure_schema()
    fill(live)
    with everything(live, None) as snap:
        live.restore(TxRecord(h(77), "testnet", "X", TxStatus.PENDING, 1.0, 1.0))
        live.update_fields(h(1), {"error": "changed later"})
        [seen] = [list(rows) for _, kind, rows in snap.parts if kind.name == "records"]
    assert [r["hash"] for r in seen] == [h(i) for i in range(1, 6)]
    assert seen[0]["error"] is None
    live.close()


def test_sqlite_backup_of_a_missing_database_fails_clearly(tmp_path: Path) -> None:
    from app.store.sqlite import SqliteStore

    missing = SqliteStore(str(tmp_path / "nothing-here.db"))
    with pytest.raises(MaintenanceError, match="does not exist"):
        write_backup(missing, tmp_path / "b.tar.gz")
    assert not (tmp_path / "nothing-here.db").exists()
    assert not (tmp_path / "b.tar.gz").exists()


@pytest.mark.mongo
def test_mongo_without_snapshot_reads_falls_back(tmp_path: Path, fresh_store: MakeStore,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store = fresh_store("mongodb")
    assert isinstance(store, MongoStore)
    fill(store)

    def no_snapshots(**kwargs: object) -> None:
        raise OperationFailure("snapshot reads are not supported on a standalone server")

    monkeypatch.setattr(store.txs.database.client, "start_session", no_snapshots)
    result = write_backup(store, tmp_path / "b.tar.gz")
    assert result.manifest["consistency"] == "per-document"
    assert result.note is not None and "standalone" in result.note
    target = fresh_store("mongodb")
    restore_into(target, result.path)
    assert list(target.iter_all()) == as_sets(list(store.iter_all()))


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("fixture", ["format2-dbe6fac.tar.gz", "format2-8c1189c.tar.gz"])
def test_format_2_archives_of_earlier_releases_restore(
        store: TxStore, engine: str, tmp_path: Path, fixture: str) -> None:
    """Archives written by earlier releases' code (tests/maintenance/fixtures; 8c1189c's records
    still carry the queue fields records had before the job queue, and its digests cover them)."""
    from app.maintenance.verify import verify_backup

    archive = FIXTURES / fixture
    report = verify_backup(archive)
    assert report["format_version"] == 2 and report["signatures"] == 4
    subscriptions = 1 if "dbe6fac" in fixture else 0
    assert report["counts"] == {"records": 3, "jobs": 2, "controls": 1, "auth_challenges": 0,
                                "subscriptions": subscriptions, "subscription_events": 0,
                                "event_quota": 0}
    cosigners = cosigners_of(store)
    with open_backup(archive) as backup:
        restore_backup(store, backup, cosigners=cosigners)
    got = exported(store, cosigners)
    assert sorted(got["records"]) == [h(1), h(2), h(4)]
    assert "attempts" not in got["records"][h(2)]  # the old queue fields are dropped
    assert got["records"][h(1)]["derived"]["summary"]["text"] == "payé ✓"
    assert store.controls.get("queue") == {"paused": True, "concurrency": 7}
    jobs = sorted(got["jobs"].values(), key=lambda j: j["id"])
    assert [(j["kind"], j["state"], j["ref"]) for j in jobs] == [
        ("deliver_callback", "running", h(4)), ("deliver_callback", "succeeded", h(4))]
    assert jobs[0]["data"]["msgId"] == "msg_" + "a" * 20 and jobs[0]["log"][0]["status"] == 503
    assert len(got["subscriptions"]) == subscriptions


def test_format_2_digests_cover_the_old_queue_fields(tmp_path: Path) -> None:
    files = members(FIXTURES / "format2-8c1189c.tar.gz")
    records = files["records.jsonl"].replace(b'"attempts":2,', b'"attempts":3,')
    with pytest.raises(MaintenanceError, match="do not match the manifest's records.digest"):
        restore_into(SqliteStore(str(tmp_path / "x.db")),
                     _refiled(files, "records.jsonl", records, tmp_path))


def test_subscription_limit_counts_right_after_a_restore(store: TxStore, engine: str,
                                                         tmp_path: Path) -> None:
    cosigners = cosigners_of(store)
    [first, _] = add_subscriptions(cosigners)
    archive = write_backup(store, tmp_path / "b.tar.gz", cosigners).path
    assert cosigners.delete_subscription(first.account, first.id)
    with open_backup(archive) as backup:
        restore_backup(store, backup, force=True, cosigners=cosigners)
    assert [s.id for s in cosigners.subscriptions(first.account)] == [first.id]
    assert not cosigners.add_subscription(dataclasses.replace(first, id="x"), 1)
    assert cosigners.add_subscription(dataclasses.replace(first, id="y"), 2)


# Every SQLite table, and the archive collection its rows are in. A new table must be added to a
# store's export_snapshot/import_snapshot (app/store/snapshot.py) and here, or backups miss it.
SQLITE_TABLES = {"txs": "records", "signatures": "records", "tx_parties": "records",
                 "jobs": "jobs", "controls": "controls", "auth_challenges": "auth_challenges",
                 "subscriptions": "subscriptions", "subscription_events": "subscription_events",
                 "event_quota": "event_quota"}


def test_every_sqlite_table_is_in_the_backup(tmp_path: Path) -> None:
    import sqlite3

    from app.store.cosigners_sqlite import SqliteCosignerStore

    path = str(tmp_path / "all.db")
    store, cosigners = SqliteStore(path), SqliteCosignerStore(path)
    store.ensure_schema()
    cosigners.ensure_schema()
    store.close()
    cosigners.close()
    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    assert tables == set(SQLITE_TABLES), "a table without a backup collection: see SQLITE_TABLES"
    store, cosigners = SqliteStore(path), SqliteCosignerStore(path)
    try:
        manifest = write_backup(store, tmp_path / "b.tar.gz", cosigners).manifest
    finally:
        store.close()
        cosigners.close()
    assert set(SQLITE_TABLES.values()) == set(manifest["collections"])


# Every MongoDB collection and where a backup keeps it; subscription_counts is derived from the
# subscriptions (recounted by an import).
MONGO_COLLECTIONS = {"txs": "records", "jobs": "jobs", "controls": "controls",
                     "auth_challenges": "auth_challenges", "subscriptions": "subscriptions",
                     "subscription_counts": None, "subscription_events": "subscription_events",
                     "event_quota": "event_quota"}


@pytest.mark.mongo
def test_every_mongodb_collection_is_in_the_backup(fresh_store: MakeStore, tmp_path: Path) -> None:
    store = fresh_store("mongodb")
    assert isinstance(store, MongoStore)
    fill_all(store)
    cosigners = cosigners_of(store)
    [sub, _] = add_subscriptions(cosigners)
    assert cosigners.use_challenge("c", 1e10, 1.0)
    cosigners.add_event(EventDelivery("msg_e", sub.id, sub.account, h(1), "tx.ready", {}, 5.0))
    assert cosigners.take_quota(sub.account, 7, 10)
    names = set(store.txs.database.list_collection_names())
    assert names == set(MONGO_COLLECTIONS), "a collection without a backup collection"
    manifest = write_backup(store, tmp_path / "b.tar.gz", cosigners).manifest
    kept = {v for v in MONGO_COLLECTIONS.values() if v}
    assert kept == set(manifest["collections"])
    assert all(manifest["collections"][name]["count"] > 0 for name in kept)
