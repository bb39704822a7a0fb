"""The monitoring API: health, metrics (JSON at the seed's paths, and Prometheus), queue controls,
cleanup, and the admin token."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests import loopback
from tests.app_server import app_settings, running_app
from tests.fakenet import FakeStellarNetwork
from tests.worker.conftest import funded_payment, wait_for

ADMIN = {"Authorization": "Bearer " + "a" * 32}


def test_admin_routes_need_the_token(worker_app: httpx.Client) -> None:
    routes = [("GET", "/monitoring/metrics"), ("POST", "/monitoring/queue/pause"),
              ("POST", "/monitoring/queue/resume"), ("POST", "/monitoring/queue/concurrency"),
              ("POST", "/monitoring/cleanup/expired")]
    for method, path in routes:
        assert worker_app.request(method, path).status_code == 401
        wrong = worker_app.request(method, path, headers={"Authorization": "Bearer " + "b" * 32})
        assert wrong.status_code == 401
    assert worker_app.get("/monitoring/health").status_code == 200
    assert worker_app.get("/health").json()["status"] == "ok"


def test_admin_routes_disabled_without_a_token(tmp_path: Path, net: FakeStellarNetwork) -> None:
    settings = app_settings(net.rpc_url, None, str(tmp_path / "x.db"))
    with running_app(settings) as base:
        response = loopback.get(base + "/monitoring/metrics", headers=ADMIN)
        assert response.status_code == 404 and "adminToken" in response.json()["error"]


def test_metrics_shape_and_prometheus(worker_app: httpx.Client, net: FakeStellarNetwork) -> None:
    p = funded_payment(net)
    worker_app.post("/tx", json={"network": "testnet", "xdr": p.signed(), "submit": True})
    wait_for(worker_app, p.hash, {"processed"})
    report = worker_app.get("/monitoring/metrics", headers=ADMIN).json()
    fin = report["finalizer"]["metrics"]
    assert isinstance(fin["queueLength"], int) and fin["successRate"] == 1.0
    assert fin["counters"]["submitted"] >= 1 and fin["networks"]["testnet"]["submitted"] >= 1
    assert fin["readyToSubmittedMs"]["p50"] is not None and fin["workerRunning"] is True
    assert report["transactions"]["processed"] >= 1
    text = worker_app.get("/monitoring/metrics?format=prometheus", headers=ADMIN)
    assert text.headers["content-type"].startswith("text/plain")
    assert "refractor_queue_length " in text.text and "refractor_success_rate 1.0" in text.text
    assert 'refractor_transactions{status="processed"}' in text.text


def test_pause_resume_and_concurrency(worker_app: httpx.Client, net: FakeStellarNetwork) -> None:
    assert worker_app.post("/monitoring/queue/pause", headers=ADMIN).json()["paused"] is True
    p = funded_payment(net)
    worker_app.post("/tx", json={"network": "testnet", "xdr": p.signed(), "submit": True})
    time.sleep(0.6)
    assert worker_app.get(f"/tx/{p.hash}").json()["status"] == "ready"
    metrics = worker_app.get("/monitoring/metrics", headers=ADMIN).json()["finalizer"]["metrics"]
    assert metrics["paused"] is True and metrics["queueLength"] >= 1
    worker_app.post("/monitoring/queue/resume", headers=ADMIN)
    assert wait_for(worker_app, p.hash, {"processed"})["submitted"]
    bad = worker_app.post("/monitoring/queue/concurrency", headers=ADMIN, json={"concurrency": 0})
    assert bad.status_code == 400 and bad.json()["field"] == "concurrency"
    ok = worker_app.post("/monitoring/queue/concurrency", headers=ADMIN, json={"concurrency": 7})
    assert ok.status_code == 200

    def concurrency() -> int:
        report = worker_app.get("/monitoring/metrics", headers=ADMIN).json()
        return int(report["finalizer"]["metrics"]["concurrency"])

    deadline = time.monotonic() + 60  # the worker reads the control at its next pass
    while concurrency() != 7:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_cleanup_endpoint_expires_and_deletes(tmp_path: Path, net: FakeStellarNetwork) -> None:
    settings = app_settings(net.rpc_url, None, str(tmp_path / "c.db"), adminToken="a" * 32,
                            runWorker=False, unsignedRetentionHours=0.0003)  # about one second
    with running_app(settings) as base, loopback.client(base_url=base) as client:
        expiring = funded_payment(net)
        # Three seconds ahead, not one: int() may leave well under a second, and on a loaded
        # machine a POST arriving after "expires" is refused (400) instead of stored.
        expires = int(time.time()) + 3
        created = client.post("/tx", json={"network": "testnet", "xdr": expiring.signed(),
                                           "expires": expires})
        assert created.status_code == 200, created.text
        unsigned = funded_payment(net)
        created = client.post("/tx", json={"network": "testnet",
                                           "xdr": unsigned.envelope.to_xdr()})
        assert created.status_code == 200, created.text
        # Past both: the expiry, and the unsigned record's retention counted from when it was
        # stored (before the POST returned). The condition is the clock itself, not a guess.
        until = max(expires, time.time() + 0.0003 * 3600) + 0.5
        while time.time() < until:
            time.sleep(until - time.time())
        report = client.post("/monitoring/cleanup/expired", headers=ADMIN).json()
        assert report == {"expired": 1, "deletedFinal": 0, "deletedUnsigned": 1}
        assert client.get(f"/tx/{expiring.hash}").json()["status"] == "failed"
        assert client.get(f"/tx/{unsigned.hash}").status_code == 404


def test_health_is_503_when_the_store_is_unreachable(net: FakeStellarNetwork,
                                                     tmp_path: Path) -> None:
    from tests.mongo_server import mongo_server

    server = mongo_server(tmp_path / "m", own=True)
    url = server.__enter__()
    settings = app_settings(net.rpc_url, None, url.rstrip("/") + "/h", storage="mongodb")
    with running_app(settings) as base:
        assert loopback.get(base + "/monitoring/health").status_code == 200
        server.__exit__(None, None, None)  # the database goes away under a running app
        response = loopback.get(base + "/monitoring/health", timeout=30)
        assert response.status_code == 503
        body = response.json()
        assert (body["status"], body["reason"]) == ("unavailable", "storage unreachable")
