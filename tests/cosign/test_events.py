"""Which events a record's change raises, for whom, and the payload (pure functions)."""

from __future__ import annotations

import dataclasses

from app.cosigners import events as ev
from app.txs.model import StoredSignature, TxRecord, TxStatus

SRC, A, B, C = "G" + "S" * 55, "G" + "A" * 55, "G" + "B" * 55, "G" + "C" * 55


def record(status: TxStatus = TxStatus.PENDING, signed: tuple[str, ...] = (),
           ready: bool = False) -> TxRecord:
    signers = [{"key": k, "type": "ed25519", "weight": w, "signed": k in signed, "desired": False}
               for k, w in ((A, 1), (B, 1), (C, 0))]
    weight = sum(s["weight"] for s in signers if s["signed"])
    progress = {"ready": ready, "accounts": [{"account": SRC, "threshold": 2, "weight": weight,
                                              "satisfied": weight >= 2, "signers": signers}]}
    return TxRecord(hash="ab" * 32, network="testnet", xdr="x", status=status, created_at=1.0,
                    updated_at=1.0, sources=[SRC], signers=[A, B, C],
                    signatures=[StoredSignature(k, b"s", 1.0) for k in signed],
                    derived={"progress": progress}, ready_at=5.0 if ready else None)


def types(events: list[ev.Event]) -> list[str]:
    return [e.type for e in events]


def test_new_record_waits_for_signers_whose_signature_counts() -> None:
    found = ev.changes(None, record())
    assert types(found) == [ev.AWAITING_SIGNATURE]
    assert found[0].accounts == {A, B}  # C weighs nothing


def test_signature_added_then_ready() -> None:
    before = record(signed=(A,))
    after = record(signed=(A, B), ready=True)
    after.status = TxStatus.READY
    found = ev.changes(before, after, added=[B])
    assert types(found) == [ev.SIGNATURE_ADDED, ev.READY]
    assert found[0].accounts == {SRC, A, B, C}
    one = ev.changes(record(), record(signed=(A,)), added=[A])
    assert types(one) == [ev.SIGNATURE_ADDED, ev.AWAITING_SIGNATURE]
    assert one[1].accounts == {B}


def test_outcomes() -> None:
    ready = record(signed=(A, B), ready=True)
    ready.status = TxStatus.READY
    done = dataclasses.replace(ready, status=TxStatus.PROCESSED, submitted=7)
    assert types(ev.changes(ready, done)) == [ev.SUBMITTED]
    handled = dataclasses.replace(ready, status=TxStatus.PROCESSED)  # not submitted (no submit)
    assert ev.changes(ready, handled) == []
    failed = dataclasses.replace(ready, status=TxStatus.FAILED, error="tx_bad_seq")
    assert types(ev.changes(ready, failed)) == [ev.FAILED]
    expired = dataclasses.replace(record(), status=TxStatus.FAILED, error="expired")
    assert types(ev.changes(record(), expired, expired=True)) == [ev.EXPIRED]


def test_payload_is_standard_webhooks_shaped_with_own_progress() -> None:
    body = ev.payload(ev.AWAITING_SIGNATURE, record(signed=(A,)), B, "https://ui.example", 0.0)
    assert body["type"] == "tx.awaiting_signature"
    assert body["timestamp"] == "1970-01-01T00:00:00.000Z"
    data = body["data"]
    assert data["hash"] == "ab" * 32 and data["network"] == "testnet"
    assert data["status"] == "pending" and data["url"] == "https://ui.example/tx/" + "ab" * 32
    assert data["progress"]["signed"] is False and data["progress"]["signatureNeeded"] is True
    assert data["progress"]["accounts"][0]["missingSigners"] == [B]
