"""Process roles: ``serve --no-worker`` (API only) next to ``worker`` (jobs only, health on
loopback), on one database; SIGTERM stops the worker gracefully."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import loopback
from tests.fakenet import FakeStellarNetwork
from tests.processes import AppProcess
from tests.worker.conftest import funded_payment, wait_until
from tests.worker.test_multiprocess import post_all, statuses


@pytest.mark.slow
def test_api_only_and_worker_only_processes_share_the_work(cluster_config: dict[str, Any],
                                                           net: FakeStellarNetwork,
                                                           processes: list[AppProcess],
                                                           tmp_path: Path) -> None:
    api = AppProcess(cluster_config, tmp_path, "api", args=("serve", "--no-worker")).start()
    processes.append(api)
    payments = [funded_payment(net) for _ in range(3)]
    post_all([api.url], payments)
    hashes = [p.hash for p in payments]
    # No worker anywhere yet: the API process alone never submits.
    assert set(statuses(api.url, hashes).values()) == {"ready"}
    assert net.request_count("sendTransaction") == 0

    worker = AppProcess(cluster_config, tmp_path, "jobs", args=("worker",)).start()
    processes.append(worker)
    health = loopback.get(worker.health_url, timeout=30)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert loopback.get(worker.health_url.replace("/monitoring/health", "/tx"), timeout=30).status_code == 404
    wait_until(lambda: set(statuses(api.url, hashes).values()) == {"processed"}, timeout=60)

    assert worker.proc is not None
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(30) == 0
    with loopback.client(timeout=30) as client:
        try:
            client.get(worker.health_url)
            raise AssertionError("the health listener is still up after SIGTERM")
        except httpx.ConnectError:
            pass
