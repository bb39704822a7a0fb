"""Import from an original Refractor (MongoDB ``tx`` collection, data.json) and copy between engines."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from stellar_sdk import Keypair, Network, TransactionEnvelope

from app.maintenance import MaintenanceError
from app.maintenance.migrate import (
    Report,
    StoreTarget,
    from_original,
    original_file,
    original_mongo,
    other_store,
    run,
)
from app.maintenance.original import seconds
from app.settings import NetworkSettings
from app.store.base import TxStore
from app.txs.model import TxStatus
from app.txs.view import tx_info
from tests.maintenance.conftest import MakeStore
from tests.maintenance.helpers import as_sets, fill, other_engine, sample_records
from tests.maintenance.originals import Fixture, original_database

Networks = Mapping[str, NetworkSettings]


@pytest.fixture
def original() -> Fixture:
    return original_database()


@pytest.fixture
def original_mongo_uri(original: Fixture, request: pytest.FixtureRequest) -> Iterator[str]:
    """A separate database on the test server holding the original's ``tx`` collection."""
    request.applymarker(pytest.mark.mongo)
    url = request.getfixturevalue("mongo_url").rstrip("/")
    name = "orig_" + uuid.uuid4().hex[:10]
    client: MongoClient[dict[str, Any]] = MongoClient(url)
    with client:
        docs = [tx.mongo_doc() for tx in original.valid.values()]
        docs += [doc for doc, _ in original.invalid.values()]
        client[name]["tx"].insert_many(docs)
        yield f"{url}/{name}"
        client.drop_database(name)


@pytest.fixture
def data_json(original: Fixture, tmp_path: Path) -> Path:
    entries: dict[str, object] = {tx.hash: tx.file_entry() for tx in original.valid.values()}
    for tx_hash, (doc, _) in original.invalid.items():
        entries[tx_hash] = {k: v for k, v in doc.items() if k != "_id"}
        for sig in entries[tx_hash].get("signatures", []):  # type: ignore[attr-defined]
            sig["signature"] = base64.b64encode(sig["signature"]).decode()
    path = tmp_path / "data.json"
    path.write_text(json.dumps(entries, indent=2))
    return path


def migrate_mongo(uri: str, store: TxStore, networks: Networks, dry_run: bool = False) -> Report:
    with original_mongo(uri) as (label, docs):
        return run(label, from_original(docs, networks, time.time()), StoreTarget(store), dry_run)


def migrate_file(path: Path, store: TxStore, networks: Networks, dry_run: bool = False) -> Report:
    label, docs = original_file(path)
    return run(label, from_original(docs, networks, time.time()), StoreTarget(store), dry_run)


def check_imported(store: TxStore, original: Fixture, report: Report) -> None:
    assert report.imported == len(original.valid) == 7
    assert report.skipped == 0
    reasons = dict(report.invalid)
    assert sorted(reasons) == sorted(original.invalid)
    for tx_hash, (_, fragment) in original.invalid.items():
        assert fragment in reasons[tx_hash]
    records = {r.hash: r for r in store.iter_all()}
    assert sorted(records) == sorted(tx.hash for tx in original.valid.values())

    for name, tx in original.valid.items():
        record = records[tx.hash]
        assert record.xdr == tx.unsigned_xdr
        assert record.sources == [tx.source]
        kept = tx.keys[:2] if name != "pending_string_max" else tx.keys[:1]  # the forged one dropped
        assert [s.key for s in record.signatures] == kept
        assert [s.signature for s in record.signatures] == tx.signatures[: len(kept)]
        assert record.sig_count == len(kept)
        assert sorted(record.signers) == sorted(kept)
        assert record.created_at == record.updated_at and record.created_at > time.time() - 60
        # GET shows the signed envelope straight away, and its signatures verify
        passphrase = Network.PUBLIC_NETWORK_PASSPHRASE if record.network == "public" \
            else Network.TESTNET_NETWORK_PASSPHRASE
        shown = TransactionEnvelope.from_xdr(tx_info(record)["xdr"], passphrase)
        assert len(shown.signatures) == len(kept)
        for key, decorated in zip(kept, shown.signatures, strict=True):
            Keypair.from_public_key(key).verify(shown.hash(), decorated.signature)
        assert record.derived["summary"]["operations"][0]["type"] == "payment"

    ready = records[original.valid["ready_float_max"].hash]
    assert ready.status is TxStatus.READY and ready.network == "testnet"
    assert ready.max_time == 1900000000 and ready.min_time == 12
    assert ready.submit is True and ready.callback_url == "https://example.com/cb"
    assert ready.desired_signers == [original.valid["ready_float_max"].keys[1]]
    assert ready.ready_at is not None

    pending = records[original.valid["pending_string_max"].hash]
    assert pending.status is TxStatus.PENDING and pending.max_time == 1900000000
    assert pending.desired_signers is None and pending.submit is False

    public = records[original.valid["public_processed"].hash]
    assert public.network == "public" and public.status is TxStatus.PROCESSED
    assert public.submitted == 1700000000

    failed = records[original.valid["failed"].hash]
    assert failed.status is TxStatus.FAILED and failed.error == "Tx error: txBadSeq"
    assert records[original.valid["processing"].hash].status is TxStatus.READY
    assert records[original.valid["bad_max_time"].hash].max_time is None
    assert records[original.valid["unsigned"].hash].signatures == []

    warnings = "\n".join(f"{h} {w}" for h, w in report.warnings)
    forged = original.valid["pending_string_max"]
    assert f"{forged.hash} signature of {forged.keys[1]} dropped: it does not verify" in warnings
    assert "maxTime 'soon' dropped" in warnings
    assert "was processing: set to ready" in warnings


def test_import_from_original_mongo(store: TxStore, original: Fixture, original_mongo_uri: str,
                                    networks: Networks) -> None:
    check_imported(store, original, migrate_mongo(original_mongo_uri, store, networks))


def test_import_from_original_data_json(store: TxStore, original: Fixture, data_json: Path,
                                        networks: Networks) -> None:
    check_imported(store, original, migrate_file(data_json, store, networks))


def test_dry_run_writes_nothing_and_reports_the_same(store: TxStore, original: Fixture,
                                                     original_mongo_uri: str,
                                                     networks: Networks) -> None:
    dry = migrate_mongo(original_mongo_uri, store, networks, dry_run=True)
    assert list(store.iter_all()) == [] and store.count_by_status() == {}
    real = migrate_mongo(original_mongo_uri, store, networks)
    assert (dry.imported, dry.skipped, dry.invalid) == (real.imported, real.skipped, real.invalid)
    assert dry.lines()[1] == "dry run: nothing was written"
    assert dry.lines()[2] == "would import: 7" and real.lines()[1] == "imported: 7"


def test_second_run_skips_everything(store: TxStore, original: Fixture, data_json: Path,
                                     networks: Networks) -> None:
    migrate_file(data_json, store, networks)
    before = list(store.iter_all())
    again = migrate_file(data_json, store, networks)
    assert (again.imported, again.skipped) == (0, 7)
    assert len(again.invalid) == len(original.invalid)  # still reported, never written
    dry = migrate_file(data_json, store, networks, dry_run=True)
    assert (dry.imported, dry.skipped) == (0, 7)
    assert list(store.iter_all()) == before


def test_records_already_present_are_not_overwritten(store: TxStore, original: Fixture,
                                                     data_json: Path, networks: Networks) -> None:
    migrate_file(data_json, store, networks)
    tx_hash = original.valid["failed"].hash
    store.update_fields(tx_hash, {"error": "ours now"})
    report = migrate_file(data_json, store, networks)
    assert report.skipped == 7
    assert store.get(tx_hash).error == "ours now"  # type: ignore[union-attr]


def test_network_missing_from_config_is_reported(store: TxStore, original: Fixture,
                                                 data_json: Path, networks: Networks) -> None:
    testnet_only = {"testnet": networks["testnet"]}
    report = migrate_file(data_json, store, testnet_only)
    reasons = dict(report.invalid)
    assert "no configured network uses the public passphrase" in \
        reasons[original.valid["public_processed"].hash]
    assert report.imported == 6


def test_unreadable_data_json(tmp_path: Path) -> None:
    with pytest.raises(MaintenanceError, match="does not exist"):
        original_file(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(MaintenanceError, match="not a readable JSON file"):
        original_file(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(MaintenanceError, match="keyed by transaction hash"):
        original_file(tmp_path / "list.json")


@pytest.mark.parametrize(("value", "expected"), [
    (1700000000, 1700000000), (1700000000.9, 1700000000), ("1700000000", 1700000000),
    (" 1700000000.5 ", 1700000000), ("soon", None), (None, None), (True, None),
    (float("nan"), None), ("", None), (1e300, None), ("9" * 40, None),
])
def test_seconds_normalisation(value: object, expected: int | None) -> None:
    assert seconds(value) == expected


@pytest.mark.mongo
def test_copy_between_our_engines(store: TxStore, engine: str, fresh_store: MakeStore) -> None:
    fill(store)
    target = fresh_store(other_engine(engine))
    with other_store(store, "other") as (label, items):
        dry = run(label, items, StoreTarget(target), dry_run=True)
    assert dry.imported == 5 and list(target.iter_all()) == []
    with other_store(store, "other") as (label, items):
        report = run(label, items, StoreTarget(target), dry_run=False)
    assert (report.imported, report.skipped, report.invalid) == (5, 0, [])
    assert as_sets(list(target.iter_all())) == as_sets(sample_records())
    with other_store(store, "other") as (label, items):
        again = run(label, items, StoreTarget(target), dry_run=False)
    assert (again.imported, again.skipped) == (0, 5)
