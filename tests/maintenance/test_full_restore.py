"""A restore gives back every store exactly, and the restored service carries on from there.

On each engine: the real app signs a co-signer in (SEP-10) and pauses the queue; callbacks, a
subscription event and a submission are queued; a backup is taken; then records are added,
modified and deleted, the queue resumed, more work queued and another challenge used. After the
restore every collection of both stores equals the backup's export row for row, the queue is
paused, the signed challenge is refused as a replay, and once resumed the pending callback and
event reach a real receiver on loopback.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from pathlib import Path

import httpx
import pytest
from stellar_sdk import Keypair, TransactionEnvelope

from app.cosigners.notifier import delivery_job as event_job
from app.jobs.kinds import submit_job
from app.maintenance.backup import write_backup
from app.maintenance.restore import open_backup, restore_backup
from app.store import open_store
from app.store.cosigners import EventDelivery, Subscription, open_cosigner_store
from app.txs.model import TxRecord, TxStatus
from app.worker.callbacks import delivery_job as callback_job
from tests import loopback
from tests.app_server import running_app
from tests.builders import PASSPHRASE, signed
from tests.conftest import ENGINES
from tests.cosign.conftest import ADMIN_TOKEN, auth_settings
from tests.fakenet import FakeStellarNetwork
from tests.maintenance.helpers import exported, h, sample_records
from tests.receivers import Hit, Receiver

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def ids(hits: list[Hit]) -> set[str]:
    return {hit.headers["webhook-id"] for hit in hits}


@pytest.fixture(params=ENGINES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "mongodb":
        request.applymarker(pytest.mark.mongo)
        url = str(request.getfixturevalue("mongo_url")).rstrip("/")
        return request.param, f"{url}/full_{uuid.uuid4().hex[:10]}"
    return request.param, str(tmp_path / "refractor.db")


def signed_challenge(client: httpx.Client, kp: Keypair) -> str:
    got = client.get("/auth", params={"account": kp.public_key, "network": "testnet"})
    assert got.status_code == 200, got.text
    return signed(TransactionEnvelope.from_xdr(got.json()["transaction"], PASSPHRASE), kp)


def test_restore_gives_back_every_store_and_the_service_carries_on(
        db: tuple[str, str], receiver: Receiver, tmp_path: Path) -> None:
    engine, location = db
    kp = Keypair.random()
    with FakeStellarNetwork() as net:
        settings = auth_settings(net, location, engine)
        # -- the service at work: a co-signer signs in, the operator pauses the queue --
        with running_app(settings) as base, loopback.client(base_url=base, timeout=30) as client:
            challenge = signed_challenge(client, kp)
            assert client.post("/auth", json={"transaction": challenge}).status_code == 200
            assert client.post("/monitoring/queue/pause", headers=ADMIN).status_code == 200

        store, cosigners = open_store(settings), open_cosigner_store(settings)
        try:
            now = time.time()
            records = [r for r in sample_records() if r.status is not TxStatus.PROCESSING]
            done = next(r for r in records if r.status is TxStatus.PROCESSED)
            done.callback_url = receiver.url
            ready = next(r for r in records if r.status is TxStatus.READY)
            for record in records:
                store.restore(record)
            callback = callback_job(done, now)
            assert callback is not None
            store.jobs.add(callback)
            # a pending submission, due later than this test runs
            store.jobs.add(dataclasses.replace(submit_job(ready, now), due_at=now + 86400))
            sub = Subscription("sub_full", kp.public_key, receiver.url, ["tx.ready"],
                               "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", now)
            assert cosigners.add_subscription(sub, 10)
            event = EventDelivery("msg_event_in_backup", sub.id, sub.account, ready.hash,
                                  "tx.ready", {"type": "tx.ready", "hash": ready.hash}, now)
            cosigners.add_event(event)
            store.jobs.add(event_job(sub, ready.hash, ready.hash, now))
            assert cosigners.take_quota(sub.account, int(now // 3600), 1000)

            archive = write_backup(store, tmp_path / "backup.tar.gz", cosigners).path
            before = exported(store, cosigners)
            assert {name: len(rows) for name, rows in before.items()} == {
                "records": 4, "jobs": 3, "controls": 1, "auth_challenges": 1,
                "subscriptions": 1, "subscription_events": 1, "event_quota": 1}
            assert before["controls"]["queue"]["value"]["paused"] is True

            # -- after the backup: add, modify, delete; resume; queue more; sign in again --
            late = TxRecord(h(98), "testnet", "NEW", TxStatus.READY, now, now,
                            callback_url=receiver.url)
            store.restore(late)
            store.update_fields(h(1), {"error": "modified after the backup"})
            assert store.delete_final_before(1e12, 10) == 2
            store.controls.set("queue", {"paused": False})
            late_callback = callback_job(late, now)
            assert late_callback is not None
            store.jobs.add(late_callback)
            store.jobs.add(submit_job(late, now))
            cosigners.add_event(dataclasses.replace(event, id="msg_event_after_backup"))
            assert cosigners.use_challenge("a-later-challenge", now + 300, now)
            assert cosigners.add_subscription(dataclasses.replace(sub, id="sub_later"), 10)
            changed = exported(store, cosigners)
            assert all(changed[name] != before[name] for name in before if name != "event_quota")

            with open_backup(archive) as backup:
                result = restore_backup(store, backup, force=True, cosigners=cosigners,
                                        safety_backup=tmp_path / "safety.tar.gz")
            assert result.previously["records"] == 3 and result.previously["jobs"] == 5
            # every store identical to the backup, row for row
            assert exported(store, cosigners) == before
            assert (store.controls.get("queue") or {}).get("paused") is True
        finally:
            store.close()
            cosigners.close()

        # -- the service restarted on the restored data --
        with running_app(settings) as base, loopback.client(base_url=base, timeout=30) as client:
            replay = client.post("/auth", json={"transaction": challenge})
            assert replay.status_code == 400 and "used already" in replay.text, replay.text
            queue = client.get("/monitoring/metrics", headers=ADMIN).json()
            assert queue["finalizer"]["metrics"]["paused"] is True, queue
            assert receiver.hits == []  # nothing runs while the restored queue is paused
            assert client.post("/monitoring/queue/resume", headers=ADMIN).status_code == 200
            wanted = {callback.data["msgId"], event.id}
            receiver.wait_for(lambda got: wanted <= ids(got), timeout=180)
        assert late_callback.data["msgId"] not in ids(receiver.hits)
        assert "msg_event_after_backup" not in ids(receiver.hits)
