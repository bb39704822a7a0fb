"""The co-signer store's contract, on both engines."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.cosigners import CosignerStore, EventDelivery, Subscription
from app.store.cosigners_mongo import MongoCosignerStore
from app.store.cosigners_sqlite import SqliteCosignerStore
from app.store.sqlite import SqliteStore


@pytest.fixture
def cstore(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[CosignerStore]:
    store: CosignerStore
    if engine == "sqlite":
        # As the app assembles it: sharing the records store's writer on the same file.
        records = SqliteStore(str(tmp_path / "refractor.db"))
        request.addfinalizer(records.close)
        store = SqliteCosignerStore(records.path, writer=records.writer)
    else:
        url = request.getfixturevalue("mongo_url")
        store = MongoCosignerStore(url.rstrip("/") + "/c_" + uuid.uuid4().hex[:12])
    store.ensure_schema()
    yield store
    if isinstance(store, MongoCosignerStore):
        store.subs.database.client.drop_database(store.subs.database.name)
    store.close()


def sub(account: str, n: int) -> Subscription:
    return Subscription(f"sub_{account}_{n}_{uuid.uuid4().hex[:6]}", account, f"https://x.org/{n}",
                        ["tx.ready"], "whsec_AAAA", float(n))


def test_challenge_is_usable_once(cstore: CosignerStore) -> None:
    assert cstore.use_challenge("c1", expires_at=200, now=100)
    assert not cstore.use_challenge("c1", expires_at=200, now=150)
    assert cstore.use_challenge("c2", expires_at=200, now=150)


def test_expired_challenges_are_dropped(cstore: CosignerStore) -> None:
    assert cstore.use_challenge("old", expires_at=100, now=50)
    # After its expiry the entry goes (the challenge itself is refused by its time bounds).
    assert cstore.use_challenge("other", expires_at=400, now=300)
    assert cstore.use_challenge("old", expires_at=100, now=300)


def test_concurrent_use_has_one_winner(cstore: CosignerStore) -> None:
    wins: list[bool] = []
    start = threading.Barrier(8)

    def use() -> None:
        start.wait()
        wins.append(cstore.use_challenge("race", expires_at=10**10, now=1))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_subscriptions_limit_and_ownership(cstore: CosignerStore) -> None:
    assert cstore.add_subscription(sub("A", 1), limit=2)
    assert cstore.add_subscription(sub("A", 2), limit=2)
    assert not cstore.add_subscription(sub("A", 3), limit=2)
    assert cstore.add_subscription(sub("B", 1), limit=2)
    mine = cstore.subscriptions("A")
    assert [s.url for s in mine] == ["https://x.org/1", "https://x.org/2"]
    assert not cstore.delete_subscription("B", mine[0].id)
    assert cstore.delete_subscription("A", mine[0].id)
    assert cstore.add_subscription(sub("A", 4), limit=2)
    assert {s.account for s in cstore.subscriptions_for(["A", "B"])} == {"A", "B"}
    assert cstore.subscriptions_for([]) == []


def test_concurrent_adds_respect_the_limit(cstore: CosignerStore) -> None:
    results: list[bool] = []
    start = threading.Barrier(6)

    def add(n: int) -> None:
        start.wait()
        results.append(cstore.add_subscription(sub("C", n), limit=3))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 3
    assert len(cstore.subscriptions("C")) == 3


def event(sub_id: str, stream: str, n: int, created: float) -> EventDelivery:
    return EventDelivery(f"msg_{sub_id}_{stream}_{n}", sub_id, "A", stream, "tx.ready",
                         {"n": n}, created)


def test_events_are_pending_in_order_until_finished(cstore: CosignerStore) -> None:
    s = sub("A", 1)
    assert cstore.add_subscription(s, limit=5)
    for n, created in ((1, 10.0), (2, 11.0), (3, 12.0)):
        cstore.add_event(event(s.id, "tx1", n, created))
    cstore.add_event(event(s.id, "tx2", 9, 5.0))
    assert [e.payload["n"] for e in cstore.pending_events(s.id, "tx1")] == [1, 2, 3]
    first = cstore.pending_events(s.id, "tx1")[0]
    cstore.finish_event(first.id, "pending", {"attempt": 1, "status": 500}, "HTTP 500")
    cstore.finish_event(first.id, "delivered", {"attempt": 2, "status": 204}, None)
    assert [e.payload["n"] for e in cstore.pending_events(s.id, "tx1")] == [2, 3]
    log = cstore.events(s.id, 10)
    assert [e.payload["n"] for e in log] == [3, 2, 1, 9]  # newest first
    done = log[2]
    assert done.status == "delivered" and done.attempts == 2
    assert [entry["status"] for entry in done.log] == [500, 204]
    assert cstore.delete_events_before(11.5) == 1  # only the delivered one, pending ones stay
    assert cstore.delete_subscription("A", s.id)
    assert cstore.events(s.id, 10) == []


def test_event_quota_per_window(cstore: CosignerStore) -> None:
    assert [cstore.take_quota("A", 100, 2) for _ in range(3)] == [True, True, False]
    assert cstore.take_quota("B", 100, 2)
    assert cstore.take_quota("A", 101, 2)  # a new window starts afresh
