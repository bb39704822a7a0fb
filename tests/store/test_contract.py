"""One contract, both engines: every TxStore behaves the same on SQLite and on MongoDB."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.jobs.kinds import SUBMIT_TRANSACTION, submit_job
from app.jobs.model import JobState
from app.store.base import TxQuery, TxStore
from app.txs.model import StoredSignature, TxRecord, TxStatus
from tests.conftest import make_store


def record(tx_hash: str = "a" * 64, **fields: object) -> TxRecord:
    now = time.time()
    base: dict[str, object] = {
        "hash": tx_hash, "network": "testnet", "xdr": "AAAA", "status": TxStatus.PENDING,
        "created_at": now, "updated_at": now, "sources": ["GSRC"], "signers": ["GA", "GB"],
    }
    base.update(fields)
    return TxRecord(**base)  # type: ignore[arg-type]


def sig(key: str, n: int = 1) -> StoredSignature:
    return StoredSignature(key, bytes([n]) * 64, time.time())


def h(n: int) -> str:
    return f"{n:064x}"


def test_insert_get_and_duplicate(store: TxStore) -> None:
    assert store.insert(record())
    assert not store.insert(record())
    got = store.get("a" * 64)
    assert got is not None and got.status is TxStatus.PENDING and got.signatures == []
    assert store.get("b" * 64) is None


def test_get_by_inner_hash_only_when_asked(store: TxStore) -> None:
    store.insert(record(inner_hash="c" * 64))
    assert store.get("c" * 64) is not None
    assert store.get("c" * 64, by_inner=False) is None


def test_signatures_added_once_per_signer_in_order(store: TxStore) -> None:
    store.insert(record())
    added = store.add_signatures("a" * 64, [sig("GA", 1), sig("GB", 2)], limit=10)
    assert [s.key for s in added] == ["GA", "GB"]
    assert store.add_signatures("a" * 64, [sig("GA", 3)], limit=10) == []
    got = store.get("a" * 64)
    assert got is not None
    assert [s.key for s in got.signatures] == ["GA", "GB"]
    assert got.signatures[0].signature == bytes([1]) * 64
    assert got.sig_count == 2


def test_signature_limit(store: TxStore) -> None:
    store.insert(record())
    added = store.add_signatures("a" * 64, [sig(f"G{i}", i) for i in range(5)], limit=3)
    assert len(added) == 3


def test_concurrent_signatures_all_kept(engine: str, tmp_path: Path,
                                        request: pytest.FixtureRequest) -> None:
    """N writers adding different signers to the same record at once: none is lost."""
    shared = make_store(engine, tmp_path, request)
    shared.ensure_schema()
    shared.insert(record())
    keys = [f"G{i:02d}" for i in range(12)]
    barrier = threading.Barrier(len(keys))
    errors: list[BaseException] = []

    def add(key: str, n: int) -> None:
        try:
            barrier.wait()
            shared.insert(record())  # every writer also races the creation
            shared.add_signatures("a" * 64, [sig(key, n)], limit=40)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(k, i)) for i, k in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    got = shared.get("a" * 64)
    assert got is not None
    assert sorted(s.key for s in got.signatures) == keys
    assert got.sig_count == len(keys)
    shared.close()


def test_save_evaluation_only_for_current_signature_count(store: TxStore) -> None:
    store.insert(record(min_time=0))
    store.add_signatures("a" * 64, [sig("GA")], limit=10)
    assert not store.save_evaluation("a" * 64, 0, {"xdr": "stale"}, True, time.time())
    got = store.get("a" * 64)
    assert got is not None and got.status is TxStatus.PENDING and got.derived == {}
    now = time.time()
    assert store.save_evaluation("a" * 64, 1, {"xdr": "fresh"}, True, now)
    got = store.get("a" * 64)
    assert got is not None
    assert got.status is TxStatus.READY and got.derived == {"xdr": "fresh"}
    assert got.ready_at == pytest.approx(now)
    # Ready already: a later evaluation stores the view and keeps the first ready_at.
    assert store.save_evaluation("a" * 64, 1, {"xdr": "again"}, True, now + 5)
    got = store.get("a" * 64)
    assert got is not None and got.ready_at == pytest.approx(now) and got.derived == {"xdr": "again"}


def test_hashes_with_status(store: TxStore) -> None:
    store.insert(record(h(1)))
    store.insert(record(h(2)))
    store.save_evaluation(h(2), 0, {}, True, time.time())
    assert store.hashes_with_status(TxStatus.READY, 10) == [h(2)]
    assert store.hashes_with_status(TxStatus.PENDING, 10) == [h(1)]


def test_transition_is_conditional(store: TxStore) -> None:
    store.insert(record())
    assert not store.transition("a" * 64, TxStatus.READY, TxStatus.PROCESSED, {})
    assert store.transition("a" * 64, TxStatus.PENDING, TxStatus.FAILED, {"error": "expired"})
    got = store.get("a" * 64)
    assert got is not None and got.status is TxStatus.FAILED and got.error == "expired"


def test_search_filters_and_pagination(store: TxStore) -> None:
    for n in range(5):
        store.insert(record(h(n), created_at=1000.0 + n, sources=[f"GS{n % 2}"],
                            signers=["GX", f"GY{n}"], network="testnet" if n < 4 else "public"))
    store.add_signatures(h(1), [sig("GX")], limit=10)
    store.transition(h(3), TxStatus.PENDING, TxStatus.FAILED, {})
    first = store.search(TxQuery(limit=2))
    assert [r.hash for r in first.items] == [h(4), h(3)] and first.next is not None
    second = store.search(TxQuery(limit=2, cursor=first.next))
    assert [r.hash for r in second.items] == [h(2), h(1)]
    assert {r.hash for r in store.search(TxQuery(account="GS1")).items} == {h(1), h(3)}
    assert {r.hash for r in store.search(TxQuery(account="GY2")).items} == {h(2)}
    assert {r.hash for r in store.search(TxQuery(signer="GX")).items} == {h(n) for n in range(5)}
    assert {r.hash for r in store.search(TxQuery(awaiting="GX")).items} == {h(0), h(2), h(4)}
    assert {r.hash for r in store.search(TxQuery(status=TxStatus.FAILED)).items} == {h(3)}
    assert {r.hash for r in store.search(TxQuery(network="public")).items} == {h(4)}


def test_account_listing_pages_once_per_record_newest_first(store: TxStore) -> None:
    # GA is the source and a signer of the even records, only a signer of the odd ones; two share
    # a creation time, so the cursor's tie-break on the hash counts.
    for n in range(7):
        store.insert(record(h(n), created_at=2000.0 + min(n, 5),
                            sources=["GA" if n % 2 == 0 else "GB"], signers=["GA", "GC"]))
    store.insert(record(h(9), created_at=2009.0, sources=["GB"], signers=["GC"]))
    for query in (TxQuery(account="GA", limit=2), TxQuery(signer="GA", limit=3)):
        seen: list[str] = []
        page = store.search(query)
        while True:
            seen += [r.hash for r in page.items]
            if page.next is None:
                break
            page = store.search(TxQuery(account=query.account, signer=query.signer,
                                        limit=query.limit, cursor=page.next))
        assert seen == [h(6), h(5), h(4), h(3), h(2), h(1), h(0)]
    both = store.search(TxQuery(account="GA", status=TxStatus.PENDING, limit=100)).items
    assert [r.hash for r in both] == [h(6), h(5), h(4), h(3), h(2), h(1), h(0)]


def test_cleanup_and_expiry_queries(store: TxStore) -> None:
    now = time.time()
    store.insert(record(h(1), max_time=int(now) - 10))
    store.insert(record(h(2), max_time=int(now) + 1000))
    store.insert(record(h(3), created_at=now - 7200))
    store.insert(record(h(4), created_at=now - 7200))
    store.add_signatures(h(4), [sig("GA")], limit=5)
    store.insert(record(h(5)))
    store.transition(h(5), TxStatus.PENDING, TxStatus.PROCESSED, {"updated_at": now - 86400 * 40})
    assert store.expired(now, 10) == [h(1)]
    assert store.delete_unsigned_before(now - 3600, 10) == 1
    assert store.get(h(3)) is None and store.get(h(4)) is not None
    assert store.delete_final_before(now - 86400 * 30, 10) == 1
    assert store.get(h(5)) is None
    assert store.count_by_status() == {"pending": 3}


def test_iter_all_and_restore_round_trip(store: TxStore) -> None:
    store.insert(record(h(1), result={"ledger": 5}, desired_signers=["GA"]))
    store.add_signatures(h(1), [sig("GA", 7), sig("GB", 8)], limit=5)
    original = list(store.iter_all())
    store.restore(original[0])  # replacing in place keeps everything
    assert list(store.iter_all()) == original
    assert original[0].sources == ["GSRC"] and sorted(original[0].signers) == ["GA", "GB"]


def test_add_evaluated_writes_signatures_view_and_status_in_one_conditional_write(
        store: TxStore) -> None:
    store.insert(record())
    before = store.get("a" * 64)
    assert before is not None
    now = time.time()
    written = store.add_evaluated(before, [sig("GA", 1), sig("GB", 2)], {"xdr": "signed"}, True,
                                  now)
    got = store.get("a" * 64)
    assert written is not None and got is not None
    assert [s.key for s in got.signatures] == ["GA", "GB"] == [s.key for s in written.signatures]
    assert got.sig_count == written.sig_count == 2
    assert got.status is written.status is TxStatus.READY
    assert got.derived == written.derived == {"xdr": "signed"}
    assert got.ready_at == pytest.approx(now) and written.ready_at == now
    assert got.updated_at == pytest.approx(now) and written.updated_at == now
    # ``before`` is stale now (two signatures and ready since): nothing is written.
    assert store.add_evaluated(before, [sig("GC", 3)], {"xdr": "stale"}, False, now + 1) is None
    got = store.get("a" * 64)
    assert got is not None and got.sig_count == 2 and got.derived == {"xdr": "signed"}
    assert [s.key for s in got.signatures] == ["GA", "GB"]


def test_a_ready_record_is_inserted_with_its_submission_job(store: TxStore) -> None:
    ready = record(status=TxStatus.READY, ready_at=time.time(), sig_count=1,
                   signatures=[sig("GA")])
    job = submit_job(ready, time.time())
    assert store.insert(ready, [job])
    assert store.get(ready.hash) is not None
    found = store.jobs.for_ref(ready.hash, SUBMIT_TRANSACTION)
    assert [(j.id, j.state) for j in found] == [(job.id, JobState.QUEUED)]
    other = submit_job(record(h(9)), time.time())  # a duplicate hash adds no job either
    assert not store.insert(record(status=TxStatus.READY), [other])
    assert store.jobs.get(other.id) is None


def test_add_evaluated_writes_the_jobs_only_when_it_applies(store: TxStore) -> None:
    store.insert(record())
    before = store.get("a" * 64)
    assert before is not None
    job = submit_job(before, time.time())
    stale = store.add_evaluated(before, [sig("GA")], {"xdr": "x"}, False, time.time())
    assert stale is not None
    assert store.add_evaluated(before, [sig("GB")], {"xdr": "y"}, True, time.time(), [job]) is None
    assert store.jobs.get(job.id) is None  # the losing write queued nothing
    written = store.add_evaluated(stale, [sig("GB")], {"xdr": "y"}, True, time.time(), [job])
    assert written is not None and written.status is TxStatus.READY
    assert [j.id for j in store.jobs.for_ref("a" * 64, SUBMIT_TRANSACTION)] == [job.id]


def test_add_evaluated_without_a_view_keeps_the_stored_one(store: TxStore) -> None:
    store.insert(record(status=TxStatus.PROCESSED, derived={"xdr": "sent"}))
    before = store.get("a" * 64)
    assert before is not None
    written = store.add_evaluated(before, [sig("GA")], None, True, time.time())
    got = store.get("a" * 64)
    assert written is not None and got is not None
    assert got.status is TxStatus.PROCESSED and got.derived == {"xdr": "sent"}
    assert [s.key for s in got.signatures] == ["GA"] and got.sig_count == 1


def test_add_evaluated_on_a_record_moved_on_writes_nothing(store: TxStore) -> None:
    store.insert(record())
    before = store.get("a" * 64)
    assert before is not None
    assert store.transition("a" * 64, TxStatus.PENDING, TxStatus.FAILED, {"error": "expired"})
    assert store.add_evaluated(before, [sig("GA")], {"xdr": "x"}, True, time.time()) is None
    got = store.get("a" * 64)
    assert got is not None and got.status is TxStatus.FAILED and got.signatures == []
    assert got.sig_count == 0 and got.derived == {}


def test_concurrent_add_evaluated_one_winner_per_read(engine: str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    """Writers holding the same read: exactly one applies; the others learn they lost."""
    shared = make_store(engine, tmp_path, request)
    shared.ensure_schema()
    shared.insert(record())
    before = shared.get("a" * 64)
    assert before is not None
    keys = [f"G{i:02d}" for i in range(8)]
    barrier = threading.Barrier(len(keys))
    results: dict[str, object] = {}

    def add(key: str, n: int) -> None:
        barrier.wait()
        results[key] = shared.add_evaluated(before, [sig(key, n)], {"by": key}, False, time.time())

    threads = [threading.Thread(target=add, args=(k, i)) for i, k in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [k for k, v in results.items() if v is not None]
    assert len(results) == len(keys) and len(winners) == 1
    got = shared.get("a" * 64)
    assert got is not None
    assert [s.key for s in got.signatures] == winners and got.derived == {"by": winners[0]}
    shared.close()
