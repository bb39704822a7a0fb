"""Several real app processes on one database: every transaction submitted exactly once, every
callback delivered, nothing lost when a process is killed with SIGKILL, controls shared."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakenet import FakeStellarNetwork
from tests.processes import AppProcess
from tests.receivers import Receiver
from tests.worker.conftest import Payment, funded_payment, wait_until

ADMIN = {"Authorization": "Bearer " + "m" * 32}
pytestmark = pytest.mark.slow


def post_all(urls: list[str], payments: list[Payment], **extra: Any) -> None:
    def one(i: int) -> None:
        with httpx.Client(base_url=urls[i % len(urls)], timeout=60) as client:
            r = client.post("/tx", json={"network": "testnet", "xdr": payments[i].signed(),
                                         "submit": True, **extra})
            assert r.status_code == 200, r.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(len(payments))))


def statuses(url: str, hashes: list[str]) -> dict[str, str]:
    with httpx.Client(base_url=url, timeout=60) as client:
        return {h: client.get(f"/tx/{h}").json()["status"] for h in hashes}


def sends(net: FakeStellarNetwork) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for s in net.ledger.submissions:
        found.setdefault(s.hash or "", []).append(s.envelope_xdr)
    return found


def test_four_processes_submit_each_exactly_once(cluster_config: dict[str, Any],
                                                 net: FakeStellarNetwork, receiver: Receiver,
                                                 processes: list[AppProcess],
                                                 tmp_path: Path) -> None:
    # 500 on SQLite. The MongoDB-wire test server (SecantusDB) answers each command in about
    # 0.1-0.3 s on a loaded 2-core machine and a record costs about fifteen of them (POST, claim,
    # gate, writes, callback job): 500 records took 414 s there (load average 15), 250 took 290 s
    # (load 16), during which this test's 3 s leases expired about a hundred times as renewals
    # queued behind other commands, once long enough for a second holder to send a transaction
    # whose first send was still in flight. 120 keeps the run short enough for the leases.
    total = 500 if cluster_config["storage"] == "sqlite" else 120
    for i in range(4):
        processes.append(AppProcess(cluster_config, tmp_path, f"app{i}").start())
    payments = [funded_payment(net) for _ in range(total)]
    post_all([p.url for p in processes], payments, callbackUrl=receiver.url)
    hashes = [p.hash for p in payments]
    wait_until(lambda: len({hit.json()["hash"] for hit in receiver.hits}) == total,
               timeout=600)
    final = statuses(processes[0].url, hashes)
    assert set(final.values()) == {"processed"}
    sent = sends(net)
    assert all(len(sent[h]) == 1 for h in hashes), "a transaction was sent more than once"
    assert all(net.ledger.get_transaction(h) is not None for h in hashes)
    delivered_ids = {hit.headers["webhook-id"] for hit in receiver.hits}
    assert len(delivered_ids) == total  # receivers de-duplicate by webhook-id


def test_sigkill_mid_job_loses_nothing(cluster_config: dict[str, Any], net: FakeStellarNetwork,
                                       processes: list[AppProcess], tmp_path: Path) -> None:
    slow = {**cluster_config, "networkTimeout": 30}
    first = AppProcess(slow, tmp_path, "victim").start()
    processes.append(first)
    net.faults.add("sendTransaction", "timeout", times=100, seconds=20)
    payments = [funded_payment(net) for _ in range(12)]
    post_all([first.url], payments)
    wait_until(lambda: net.request_count("sendTransaction") >= 1, timeout=30)
    first.kill()  # SIGKILL while it holds leases and waits on the network
    net.faults.clear()
    second = AppProcess(cluster_config, tmp_path, "survivor").start()
    processes.append(second)
    hashes = [p.hash for p in payments]
    wait_until(lambda: set(statuses(second.url, hashes).values()) == {"processed"}, timeout=120)
    sent = sends(net)
    for h in hashes:
        assert len(set(sent[h])) == 1  # retried, if at all, with the byte-identical envelope
        assert net.ledger.get_transaction(h) is not None


def test_pause_and_concurrency_apply_to_every_process(cluster_config: dict[str, Any],
                                                      net: FakeStellarNetwork,
                                                      processes: list[AppProcess],
                                                      tmp_path: Path) -> None:
    a = AppProcess(cluster_config, tmp_path, "a").start()
    b = AppProcess(cluster_config, tmp_path, "b").start()
    processes += [a, b]
    assert httpx.post(a.url + "/monitoring/queue/pause", headers=ADMIN).status_code == 200
    payments = [funded_payment(net) for _ in range(5)]
    post_all([b.url], payments)
    time.sleep(1.5)
    assert set(statuses(b.url, [p.hash for p in payments]).values()) == {"ready"}
    assert httpx.post(b.url + "/monitoring/queue/resume", headers=ADMIN).status_code == 200
    wait_until(lambda: set(statuses(a.url, [p.hash for p in payments]).values()) == {"processed"})
    httpx.post(a.url + "/monitoring/queue/concurrency", headers=ADMIN, json={"concurrency": 9})

    def b_concurrency() -> bool:
        report = httpx.get(b.url + "/monitoring/metrics", headers=ADMIN).json()
        return bool(report["finalizer"]["metrics"]["concurrency"] == 9)

    wait_until(b_concurrency, timeout=10)


def test_job_slower_than_its_lease_is_never_claimed_twice(cluster_config: dict[str, Any],
                                                          net: FakeStellarNetwork,
                                                          processes: list[AppProcess],
                                                          tmp_path: Path) -> None:
    """The network answers after 3 leases' worth of time; the holder's heartbeat keeps the lease,
    so the other process never takes the job over and the envelope is sent once."""
    slow = {**cluster_config, "leaseSeconds": 4, "networkTimeout": 30}
    a = AppProcess(slow, tmp_path, "a").start()
    b = AppProcess(slow, tmp_path, "b").start()
    processes += [a, b]
    net.faults.add("sendTransaction", "timeout", times=1, seconds=12)
    [p] = [funded_payment(net)]
    post_all([a.url], [p])
    wait_until(lambda: statuses(b.url, [p.hash])[p.hash] == "processed", timeout=60)
    assert net.request_count("sendTransaction") == 1
    assert len(sends(net)[p.hash]) == 1
