"""Production's shape: `make deploy ENV=e2e-multi` puts Nginx on one host and the app on two more
that share an external MongoDB (a MongoDB-wire test server on the build host)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from stellar_sdk import Account, Asset, Keypair, Network, TransactionBuilder

from tests.deploy.e2e_stack import Stack, ssh

pytestmark = pytest.mark.e2e

WEB, APP1, APP2 = 32, 33, 34
UI_HOST = "refractor.e2e.test"
STATE: dict[str, Any] = {}


def client() -> httpx.Client:
    return httpx.Client(base_url=f"https://10.213.{WEB}.2", verify=False, timeout=10)


def get(c: httpx.Client, path: str) -> httpx.Response:
    return c.get(path, headers={"Host": UI_HOST, "Accept": "application/json"})


def release(host: int) -> str:
    return ssh("readlink /opt/refractor/current", host=host).stdout.strip().rsplit("/", 1)[-1]


def test_deploy_puts_nginx_and_the_app_on_separate_hosts(multi_stack: Stack) -> None:
    multi_stack.deploy()
    upstream = ssh("cat /etc/nginx/conf.d/refractor.conf", host=WEB).stdout
    assert "server 10.213.30.33:8001" in upstream and "server 10.213.30.34:8001" in upstream
    assert ssh("systemctl is-active refractor@8001.service", host=APP1).stdout.strip() == "active"
    assert ssh("systemctl is-active refractor@8001.service", host=APP2).stdout.strip() == "active"
    assert ssh("test -e /etc/systemd/system/refractor@.service; echo $?", host=WEB).stdout.strip() == "1"
    with client() as c:
        page = c.get("/", headers={"Host": UI_HOST, "Accept": "text/html"})
        assert page.status_code == 200 and "<html" in page.text.lower(), "the web host serves the UI bundle"
        assert get(c, "/health").json()["status"] == "ok"
    timers = ssh("systemctl is-enabled refractor-backup.timer", host=APP1, check=False).stdout.strip()
    assert timers == "enabled"
    assert (
        ssh("systemctl is-enabled refractor-backup.timer", host=APP2, check=False).stdout.strip() != "enabled"
    )


def test_instances_are_reachable_only_from_the_nginx_host(multi_stack: Stack) -> None:
    assert ssh("curl -fsS -m 5 http://10.213.30.33:8001/health", host=WEB).returncode == 0
    with socket.socket() as probe:
        probe.settimeout(2)
        with pytest.raises(OSError):
            probe.connect(("10.213.30.33", 8001))  # from the build host: dropped by ufw


def test_transaction_written_through_one_app_host_is_read_through_the_other(multi_stack: Stack) -> None:
    source, signer, dest = Keypair.random(), Keypair.random(), Keypair.random()
    control = httpx.Client(base_url=multi_stack.control_url, timeout=10)
    control.post("/accounts", json={"id": dest.public_key}).raise_for_status()
    control.post(
        "/accounts",
        json={
            "id": source.public_key,
            "master_weight": 0,
            "low": 1,
            "med": 1,
            "high": 1,
            "signers": [{"key": signer.public_key, "weight": 1}],
        },
    ).raise_for_status()
    seq = int(control.get(f"/accounts/{source.public_key}").json()["seq_num"])
    tx = (
        TransactionBuilder(Account(source.public_key, seq), Network.TESTNET_NETWORK_PASSPHRASE, base_fee=100)
        .append_payment_op(dest.public_key, Asset.native(), "5")
        .set_timeout(600)
        .build()
    )
    tx.sign(signer)
    with client() as c:
        created = c.post(
            "/tx",
            headers={"Host": UI_HOST, "Accept": "application/json"},
            json={"network": "testnet", "xdr": tx.to_xdr(), "submit": True},
        )
        assert created.status_code == 200, created.text
        deadline = time.time() + 60
        while time.time() < deadline and get(c, f"/tx/{tx.hash_hex()}").json()["status"] != "processed":
            time.sleep(0.5)
        # least_conn spreads these over both app hosts: each must see the shared record.
        seen = {get(c, f"/tx/{tx.hash_hex()}").json()["status"] for _ in range(10)}
    assert seen == {"processed"}
    assert control.get(f"/transactions/{tx.hash_hex()}").status_code == 200
    control.close()
    STATE["tx_hash"] = tx.hash_hex()


def test_release_rolls_host_by_host_without_failed_requests(multi_stack: Stack, tmp_path: Path) -> None:
    before = {release(APP1), release(APP2)}
    build = tmp_path / "build"
    multi_stack.build(build, suffix="multi-roll")
    stop, results = threading.Event(), []

    def poll() -> None:
        with client() as c:
            while not stop.is_set():
                try:
                    results.append(get(c, f"/tx/{STATE['tx_hash']}").status_code)
                except httpx.HTTPError as exc:
                    results.append(repr(exc))
                time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        multi_stack.deploy("--release-only", build_dir=build)
        time.sleep(1)
    finally:
        stop.set()
        poller.join()
    new_build = (build / "BUILD_ID").read_text().strip()
    after = {release(APP1), release(APP2)}  # one release per host: the bind address is in the config
    assert all(r.startswith(new_build + "-c") for r in after) and not after & before
    assert release(WEB) == new_build, "the web host got the new UI"
    failures = [r for r in results if r != 200]
    assert len(results) > 50 and not failures, f"{len(failures)} of {len(results)} failed: {failures[:5]}"
