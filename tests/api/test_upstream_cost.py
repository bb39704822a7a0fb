"""Upstream cost per request is bounded: one batched RPC read for every account of a transaction,
Horizon reads for the same accounts each made once, and a per-client budget that refuses (429)
before any upstream call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stellar_sdk import Keypair

from tests import loopback
from tests.app_server import app_settings, running_app
from tests.builders import payment_tx
from tests.fakenet import FakeStellarNetwork


@pytest.fixture(scope="module")
def net() -> Iterator[FakeStellarNetwork]:
    with FakeStellarNetwork() as network:
        yield network


def _requests(net: FakeStellarNetwork) -> int:
    return sum(net.stats.values())


def _hundred_sources(net: FakeStellarNetwork) -> str:
    source = Keypair.random()
    net.ledger.create_account(source.public_key)
    fresh = [Keypair.random().public_key for _ in range(100)]  # none of them on the ledger
    return payment_tx(source, seq=1, op_sources=fresh).to_xdr()


def _app(net: FakeStellarNetwork, tmp: Path, rpc: bool, horizon: bool, **extra: Any) -> Any:
    settings = app_settings(net.rpc_url if rpc else None, net.horizon_url if horizon else None,
                            str(tmp / "r.db"), runWorker=False, **extra)
    return running_app(settings)


def test_a_hundred_sources_cost_at_most_two_requests_with_rpc(net: FakeStellarNetwork,
                                                             tmp_path: Path) -> None:
    xdr = _hundred_sources(net)
    with _app(net, tmp_path, rpc=True, horizon=True) as base:
        before = _requests(net)
        answer = loopback.post(base + "/tx", json={"network": "testnet", "xdr": xdr}, timeout=60)
        spent = _requests(net) - before
    assert answer.status_code == 200, answer.text
    missing = [a for a in answer.json()["progress"]["accounts"] if a["missing"]]
    assert len(missing) == 100
    assert spent <= 2, net.stats


def test_over_horizon_each_account_is_read_once(net: FakeStellarNetwork, tmp_path: Path) -> None:
    xdr = _hundred_sources(net)
    with _app(net, tmp_path, rpc=False, horizon=True) as base:
        before = net.request_count("GET /accounts")
        answer = loopback.post(base + "/tx", json={"network": "testnet", "xdr": xdr}, timeout=120)
        assert answer.status_code == 200, answer.text
        assert net.request_count("GET /accounts") - before == 101


def test_rpc_down_falls_back_to_horizon(net: FakeStellarNetwork, tmp_path: Path) -> None:
    source = Keypair.random()
    net.ledger.create_account(source.public_key, master_weight=1, low=1, med=1, high=1)
    net.faults.add("getLedgerEntries", "http503", times=1)
    with _app(net, tmp_path, rpc=True, horizon=True) as base:
        answer = loopback.post(base + "/tx", json={"network": "testnet",
                                                "xdr": payment_tx(source, seq=1).to_xdr()}, timeout=60)
    assert answer.status_code == 200, answer.text
    assert net.faults.pending() == {}, "the RPC fault was not hit"
    assert answer.json()["progress"]["accounts"][0]["missing"] is False


def test_budget_refuses_before_any_upstream_call(net: FakeStellarNetwork, tmp_path: Path) -> None:
    def fresh_pair() -> str:
        source = Keypair.random()
        return payment_tx(source, seq=1, op_sources=[Keypair.random().public_key]).to_xdr()

    limits = {"post": 1000, "general": 1000, "upstream": 2}  # the first post spends it all
    with _app(net, tmp_path, rpc=False, horizon=True, rateLimit=limits) as base, \
            loopback.client(base_url=base, timeout=60) as client:
        assert client.post("/tx", json={"network": "testnet", "xdr": fresh_pair()}).status_code == 200
        before = _requests(net)
        refused = client.post("/tx", json={"network": "testnet", "xdr": fresh_pair()})
        assert _requests(net) == before, "the refused request reached the network"
        assert refused.status_code == 429
        assert refused.json()["status"] == 429 and "lookups" in refused.json()["error"]
        assert int(refused.headers["retry-after"]) >= 1
        assert client.get("/networks").status_code == 200  # other requests are not charged


def test_cached_accounts_cost_nothing(net: FakeStellarNetwork, tmp_path: Path) -> None:
    source = Keypair.random()
    net.ledger.create_account(source.public_key)
    xdr = payment_tx(source, seq=1).to_xdr()
    limits = {"post": 1000, "general": 1000, "upstream": 1}
    with _app(net, tmp_path, rpc=True, horizon=False, accountCacheTtl=300, rateLimit=limits) as base, \
            loopback.client(base_url=base, timeout=60) as client:
        answers = [client.post("/tx", json={"network": "testnet", "xdr": xdr}).status_code
                   for _ in range(5)]
    assert answers == [200] * 5


def test_horizon_reads_are_bounded_in_flight(net: FakeStellarNetwork) -> None:
    """The real Horizon client against the fake network, wrapped to count calls in flight."""
    import threading
    import time

    from app.ledger.accounts import HORIZON_CONCURRENCY, AccountSource, NetworkClients
    from app.settings import NetworkSettings
    from tests.builders import PASSPHRASE

    with loopback.ledger_http(timeout=30) as http:
        clients = NetworkClients(NetworkSettings("testnet", PASSPHRASE, None, net.horizon_url), http)
        horizon = clients.horizon
        assert horizon is not None
        real = horizon.get_account
        lock, in_flight, most = threading.Lock(), [0], [0]

        def counted(account_id: str) -> Any:
            with lock:
                in_flight[0] += 1
                most[0] = max(most[0], in_flight[0])
            try:
                time.sleep(0.02)  # keep each call open long enough for others to start
                return real(account_id)
            finally:
                with lock:
                    in_flight[0] -= 1

        horizon.get_account = counted  # type: ignore[method-assign]
        wanted = [Keypair.random().public_key for _ in range(40)]
        found = AccountSource({"testnet": clients}, ttl=0).load("testnet", wanted)
    assert sorted(found) == sorted(wanted) and all(a.missing for a in found.values())
    assert 1 <= most[0] <= HORIZON_CONCURRENCY


def test_the_account_cache_evicts_the_oldest_not_everything(net: FakeStellarNetwork,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from app.ledger import accounts as accounts_module
    from app.ledger.accounts import AccountSource, NetworkClients
    from app.settings import NetworkSettings
    from tests.builders import PASSPHRASE

    monkeypatch.setattr(accounts_module, "CACHE_SIZE", 10)
    with loopback.ledger_http(timeout=30) as http:
        clients = NetworkClients(NetworkSettings("testnet", PASSPHRASE, net.rpc_url, None), http)
        source = AccountSource({"testnet": clients}, ttl=300)
        first = [Keypair.random().public_key for _ in range(9)]
        source.load("testnet", first)
        later = [Keypair.random().public_key for _ in range(2)]
        source.load("testnet", later[:1])
        assert source.cached("testnet", first + later[:1])  # 10: all kept
        source.load("testnet", later[1:])  # 11: the oldest goes, and only it
        assert not source.cached("testnet", first[:1])
        assert source.cached("testnet", first[1:] + later)
