"""MongoDB goes away under a running app and comes back: requests get a 503 that names nothing of
the connection, health says why, and the worker survives and resumes."""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from pymongo import MongoClient

from app.observability import JsonFormatter
from tests import loopback
from tests.api.test_extensions import OpenApi
from tests.app_server import running_app
from tests.fakenet import FakeStellarNetwork
from tests.mongo_server import mongo_server
from tests.ports import free_port
from tests.worker.conftest import funded_payment, wait_for, wait_until, worker_settings

pytestmark = pytest.mark.mongo

PASSWORD = "pw-Zq8v1Kx"
UNAVAILABLE = {"error": "Storage is unavailable, retry later", "status": 503}


def _logged(caplog: pytest.LogCaptureFixture, message: str) -> bool:
    return any(r.getMessage() == message for r in caplog.records)


def test_mongodb_outage_is_a_503_and_the_worker_resumes(
        net: FakeStellarNetwork, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    workdir, port = tmp_path / "mongo", free_port()
    with ExitStack() as first:
        url = first.enter_context(mongo_server(workdir, own=True, port=port))
        with MongoClient(url) as admin:
            admin.admin.command("createUser", "refractor", pwd=PASSWORD, roles=["root"])
        db = (f"mongodb://refractor:{PASSWORD}@127.0.0.1:{port}/outage"
              "?authSource=admin&serverSelectionTimeoutMS=500")
        settings = worker_settings(net, "mongodb", db)
        with caplog.at_level(logging.INFO), ExitStack() as app:
            base = app.enter_context(running_app(settings))
            client = app.enter_context(loopback.client(base_url=base, timeout=60))
            before = funded_payment(net)
            client.post("/tx", json={"network": "testnet", "xdr": before.signed()})
            wait_for(client, before.hash, {"processed"}, timeout=60)

            openapi = OpenApi(client.get("/openapi.json").json())
            first.close()  # the database goes away under the running app

            during = funded_payment(net)
            answers = [("/tx/{hash}", "get", client.get(f"/tx/{before.hash}")),
                       ("/tx", "post", client.post("/tx", json={"network": "testnet",
                                                                "xdr": during.signed()})),
                       ("/tx", "get", client.get("/tx", params={
                           "account": during.source.public_key}))]
            for path, method, response in answers:
                assert (response.status_code, response.json()) == (503, UNAVAILABLE)
                openapi.check(path, method, response)  # documented, with this body's shape
                assert response.headers["retry-after"] == "5"
                assert PASSWORD not in response.text and str(port) not in response.text
            health = client.get("/monitoring/health")
            assert health.status_code == 503
            assert health.json()["reason"] == "storage unreachable"
            wait_until(lambda: _logged(caplog, "store unavailable; the worker tries again every "
                                               "tick"), timeout=60)

            with mongo_server(workdir, own=True, port=port):  # back, with its data
                wait_until(lambda: _healthy(client), timeout=60)
                assert client.get(f"/tx/{before.hash}").json()["status"] == "processed"
                assert client.post("/tx", json={"network": "testnet",
                                                "xdr": during.signed()}).status_code == 200
                wait_for(client, during.hash, {"processed"}, timeout=60)
                wait_until(lambda: _logged(caplog, "store reachable again; the worker resumes"),
                           timeout=60)
                app.close()
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(r) for r in caplog.records)
    assert "storage unavailable" in logged  # the requests' warnings...
    assert PASSWORD not in logged  # ...and nothing else names the credentials


def _healthy(client: httpx.Client) -> bool:
    response = client.get("/monitoring/health")
    if response.status_code != 200:
        time.sleep(0.2)
    return response.status_code == 200
