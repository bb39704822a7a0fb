"""Sample data for the operator command tests."""

from __future__ import annotations

from typing import Any

from app.store.base import TxStore
from app.store.cosigners import CosignerStore, Subscription
from app.store.cosigners_mongo import MongoCosignerStore
from app.store.cosigners_sqlite import SqliteCosignerStore
from app.store.deliveries import to_job
from app.store.mongo import MongoStore
from app.txs.model import Delivery, StoredSignature, TxRecord, TxStatus


def other_engine(engine: str) -> str:
    return "mongodb" if engine == "sqlite" else "sqlite"


def h(n: int) -> str:
    return f"{n:064x}"


def sample_records() -> list[TxRecord]:
    """Every status and every optional field, with floats that only survive if kept exactly."""
    t = 1764370000.123456789
    sig = [StoredSignature("GB" + "A" * 54, bytes(range(64)), t + 1 / 3),
           StoredSignature("GA" + "B" * 54, b"\xff" * 64, t + 0.1 + 0.2)]
    derived = {"xdr": "AAAA", "progress": {"ratio": 2 / 3, "accounts": [{"weight": 1}]},
               "summary": {"memo": None, "text": "payé ✓"}}
    return [
        TxRecord(h(1), "testnet", "AAAA1", TxStatus.PENDING, t, t + 1e-6,
                 sources=["GZ", "GA"], signers=["GS2", "GS1", "GZ"], signatures=sig[:1],
                 sig_count=1, desired_signers=[], derived=derived),
        TxRecord(h(2), "testnet", "AAAA2", TxStatus.READY, t + 1, t + 2, min_time=1764370100,
                 max_time=1900000000, ready_at=t + 2.5, next_attempt_at=t + 9.75, signatures=sig,
                 sig_count=2, sources=["GA"], signers=["GA", "GB"], desired_signers=["GB"]),
        TxRecord(h(3), "public", "AAAA3", TxStatus.PROCESSING, t + 3, t + 4, ready_at=t,
                 submit=True, callback_url="https://example.com/cb?x=1"),
        TxRecord(h(4), "public", "AAAA4", TxStatus.PROCESSED, t + 5, t + 6, submitted=1764370200,
                 result={"ledger": 123, "fee": "100", "nested": [1, 2.5, None]},
                 signatures=sig[1:], sig_count=1, inner_hash=h(40)),
        TxRecord(h(5), "testnet", "AAAA5", TxStatus.FAILED, t + 7, t + 8,
                 error="Tx error: txBadSeq — ünïcode"),
    ]


def fill(store: TxStore, records: list[TxRecord] | None = None) -> list[TxRecord]:
    records = sample_records() if records is None else records
    for record in records:
        store.restore(record)
    return records


def as_sets(records: list[TxRecord]) -> list[TxRecord]:
    """Records with sources/signers sorted: SQLite keeps them as sorted rows, MongoDB as given."""
    for record in records:
        record.sources, record.signers = sorted(set(record.sources)), sorted(set(record.signers))
    return records


def sample_deliveries() -> list[Delivery]:
    """A pending callback (with a failed attempt logged and a lease) and a delivered one."""
    t = 1764370000.5
    attempt = {"at": t + 1, "status": 503, "error": "HTTP 503", "ms": 12.5}
    return [
        Delivery("msg_" + "a" * 20, h(3), "https://example.com/cb?x=1", {"hash": h(3), "n": 1.25},
                 t, t + 30.0, "pending", 1, "HTTP 503", [attempt], "worker-1", t + 60.0),
        Delivery("msg_" + "b" * 20, h(4), "https://example.com/cb", {"hash": h(4)}, t + 2,
                 t + 2, "delivered", 1, None, [{**attempt, "status": 200, "error": None}]),
    ]


SAMPLE_CONTROLS = {"queue": {"paused": True, "concurrency": 7},
                   "schema": {"version": 3, "note": "ünïcode"}}


def fill_all(store: TxStore) -> None:
    """Every collection of the transaction store: records, jobs (callbacks) and controls."""
    fill(store)
    for delivery in sample_deliveries():
        store.jobs.put(to_job(delivery))
    for name, value in SAMPLE_CONTROLS.items():
        store.controls.set(name, value)


def add_subscriptions(cosigners: CosignerStore) -> list[Subscription]:
    subscriptions = sample_subscriptions()
    for subscription in subscriptions:
        assert cosigners.add_subscription(subscription, 10)
    return subscriptions


def exported(store: TxStore, cosigners: CosignerStore | None = None) -> dict[str, dict[str, Any]]:
    """Every collection of both stores as their exports give it: name -> {key: row}."""
    from app.maintenance.snapshot import everything

    with everything(store, cosigners, copy=False) as snap:
        return {kind.name: {kind.key(r): r for r in rows} for _, kind, rows in snap.parts}


def cosigners_of(store: TxStore) -> CosignerStore:
    """The co-signer store beside ``store`` (same SQLite file, same MongoDB database)."""
    if isinstance(store, MongoStore):  # shares the client: closed with the store
        cosigners: CosignerStore = MongoCosignerStore("", client=store.txs.database.client)
    else:
        cosigners = SqliteCosignerStore(store.path)  # type: ignore[attr-defined]
    cosigners.ensure_schema()
    return cosigners


def sample_subscriptions() -> list[Subscription]:
    return [Subscription("sub_1", "GA" + "C" * 54, "https://example.com/hook", ["tx.ready"],
                         "whsec_c2VjcmV0", 1764370000.25),
            Subscription("sub_2", "GA" + "D" * 54, "https://example.org/h?x=1",
                         ["tx.ready", "tx.processed"], "whsec_b3RoZXI=", 1764370001.5)]
