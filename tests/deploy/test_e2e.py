"""`make deploy ENV=e2e` on fresh systemd hosts, then the stack is exercised through Nginx over HTTPS.

The tests run in file order and share one deployment (the `stack` session fixture).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from stellar_sdk import Account, Asset, Keypair, Network, TransactionBuilder

from tests.deploy.e2e_stack import HOST_INDEX, TARGET, Stack, ssh
from tests.deploy.releases import break_build, tamper_sdist
from tests.deploy.tools import ROOT, run

pytestmark = pytest.mark.e2e

UI_HOST = "refractor.e2e.test"
API_HOST = "api.refractor.e2e.test"
STATE: dict[str, Any] = {}
# Shipped as source distributions in the rolled-out release: idna names a PEP 517 backend
# (flit_core), h11 has no pyproject.toml (setuptools).
FROM_SOURCE = {"idna": "3.20", "h11": "0.16.0"}


def client() -> httpx.Client:
    # Addressed by IP with the virtual host in Host: no DNS is involved. A request that hangs still
    # fails; a loaded machine may just take more than a few seconds to answer one.
    return httpx.Client(base_url=f"https://{TARGET}", verify=False, timeout=30)


def api(c: httpx.Client, method: str, path: str, host: str = API_HOST, **kw: Any) -> httpx.Response:
    headers = {"Host": host, "Accept": "application/json", **kw.pop("headers", {})}
    return c.request(method, path, headers=headers, **kw)


def current_release() -> str:
    return ssh("readlink /opt/refractor/current").stdout.strip().rsplit("/", 1)[-1]


def test_bootstrap_made_a_deploy_user_on_a_root_only_host(stack: Stack) -> None:
    out = stack.bootstrap_output
    real = ssh("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()[1]
    assert real in out, f"the host key fingerprint {real} was not shown:\n{out[-2000:]}"
    recorded = run(["ssh-keygen", "-F", TARGET, "-f", str(stack.known_hosts)], check=False)
    assert recorded.returncode == 0 and real in run(["ssh-keygen", "-lf", str(stack.known_hosts)]).stdout
    assert "deploy logs in with your key and has passwordless sudo" in out, out[-2000:]
    assert "NOPASSWD: ALL" in ssh("sudo -l -U deploy").stdout
    again = stack.run_bootstrap()
    assert re.findall(r"e2e-web\s*:\s*ok=\d+\s+changed=(\d+)", again) == ["0"], again[-2000:]
    # The base role refuses an sshd configuration that would lock the deploy user out, before writing it.
    refused = run(
        [
            "ansible-playbook",
            "-i",
            "inventories/e2e/hosts.yml",
            "playbooks/site.yml",
            "--tags",
            "ssh",
            "-e",
            json.dumps({"base_ssh_allow_users": ["someone-else"]}),
        ],
        check=False,
    )
    said = " ".join(refused.stdout.split())  # the YAML callback may fold the message
    assert refused.returncode != 0 and "locks out deploy" in said, refused.stdout[-2000:]
    assert ssh("test -e /etc/ssh/sshd_config.d/10-refractor.conf; echo $?").stdout.strip() == "1"


def test_plan_on_a_fresh_host_changes_nothing(stack: Stack) -> None:
    proc = run(
        ["make", "-s", "plan", "ENV=e2e"], env={"REFRACTOR_BUILD_DIR": str(stack.build_dir)}, timeout=600
    )
    assert "was never provisioned" in proc.stdout, proc.stdout[-3000:]
    assert "Release tool is installed" in proc.stdout + proc.stderr
    assert ssh("test -e /opt/refractor || test -e /etc/refractor; echo $?").stdout.strip() == "1"


def test_first_deploy_serves_ui_and_api_over_https(stack: Stack) -> None:
    stack.deploy()
    with client() as c:
        page = c.get("/", headers={"Host": UI_HOST, "Accept": "text/html"})
        assert page.status_code == 200 and "<html" in page.text.lower()
        assert "max-age=63072000" in page.headers["strict-transport-security"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        deep = c.get("/tx/add", headers={"Host": UI_HOST, "Accept": "text/html,application/xhtml+xml"})
        assert deep.status_code == 200 and deep.text == page.text, "SPA fallback for browser navigation"
        for host in (API_HOST, UI_HOST):
            info = api(c, "GET", "/health", host=host)
            assert info.status_code == 200 and info.json()["status"] == "ok"
            spec = api(c, "GET", "/openapi.json", host=host)
            assert spec.status_code == 200 and "paths" in spec.json()
        assert api(c, "GET", "/").json()["service"] == "refractor"
        assert api(c, "OPTIONS", "/tx").headers["access-control-allow-origin"] == "*"
    assert ssh("systemctl is-active refractor@8001 refractor@8002 nginx").stdout.split() == ["active"] * 3
    STATE["first_release"] = current_release()
    # Nothing wrote a file of the nginx package before installing it.
    assert ssh("ls /etc/logrotate.d /etc/nginx | grep -c dpkg-dist", check=False).stdout.strip() == "0"


def test_multisig_transaction_is_signed_and_submitted_through_the_stack(stack: Stack) -> None:
    source, signer_a, signer_b, dest = (Keypair.random() for _ in range(4))
    control = httpx.Client(base_url=stack.control_url, timeout=10)
    control.post("/accounts", json={"id": dest.public_key}).raise_for_status()
    control.post(
        "/accounts",
        json={
            "id": source.public_key,
            "master_weight": 0,
            "low": 2,
            "med": 2,
            "high": 2,
            "signers": [{"key": signer_a.public_key, "weight": 1}, {"key": signer_b.public_key, "weight": 1}],
        },
    ).raise_for_status()
    seq = int(control.get(f"/accounts/{source.public_key}").json()["seq_num"])
    tx = (
        TransactionBuilder(Account(source.public_key, seq), Network.TESTNET_NETWORK_PASSPHRASE, base_fee=100)
        .append_payment_op(dest.public_key, Asset.native(), "10")
        .set_timeout(600)
        .build()
    )
    first, second = (
        TransactionBuilder.from_xdr(tx.to_xdr(), Network.TESTNET_NETWORK_PASSPHRASE) for _ in range(2)
    )
    first.sign(signer_a)
    second.sign(signer_b)
    tx_hash = tx.hash_hex()
    with client() as c:
        created = api(c, "POST", "/tx", json={"network": "testnet", "xdr": first.to_xdr(), "submit": True})
        assert created.status_code == 200, created.text
        assert created.json()["hash"] == tx_hash and created.json()["status"] == "pending"
        # The second signer uses the UI host, as the browser UI does (same-origin API calls).
        cosigned = api(c, "POST", "/tx", host=UI_HOST, json={"network": "testnet", "xdr": second.to_xdr()})
        assert cosigned.status_code == 200, cosigned.text
        deadline = time.time() + 180
        while time.time() < deadline:
            info = api(c, "GET", f"/tx/{tx_hash}").json()
            if info["status"] in ("processed", "failed"):
                break
            time.sleep(0.5)
    assert info["status"] == "processed", (info.get("error"), info.get("result"))
    assert {s["key"] for s in info["signatures"]} == {signer_a.public_key, signer_b.public_key}
    assert control.get(f"/transactions/{tx_hash}").status_code == 200, "the fake network applied it"
    control.close()
    STATE["tx_hash"] = tx_hash
    # Live updates stream through Nginx unbuffered: the first event arrives at once.
    with (
        client() as c,
        c.stream(
            "GET",
            f"/tx/{tx_hash}/events",
            headers={"Host": UI_HOST, "Accept": "text/event-stream"},
            timeout=5,
        ) as events,
    ):
        assert events.status_code == 200 and events.headers["content-type"].startswith("text/event-stream")
        lines = events.iter_lines()
        assert "event: update" in [next(lines) for _ in range(3)]


def test_second_deploy_changes_nothing(stack: Stack) -> None:
    proc = stack.deploy()
    out = proc.stdout + proc.stderr
    recap = re.findall(r"e2e-web\s*:\s*ok=\d+\s+changed=(\d+)", out)
    assert recap == ["0"], out[-3000:]
    total = re.search(r"Grand total\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)", out)
    assert total and total.group(2) == "-" and total.group(3) == "-", out[-3000:]


def _poll(stop: threading.Event, results: list[tuple[int, str]]) -> None:
    with client() as c:
        while not stop.is_set():
            try:
                r = api(c, "GET", f"/tx/{STATE['tx_hash']}", host=UI_HOST)
                results.append((r.status_code, "" if r.status_code == 200 else r.text[:200]))
            except httpx.HTTPError as exc:
                results.append((0, repr(exc)))
            time.sleep(0.02)


def test_new_release_rolls_out_without_failed_requests(stack: Stack, tmp_path: Path) -> None:
    before = current_release()
    build = tmp_path / "build"
    # Two dependencies go as source distributions (one with a PEP 517 backend, one without a
    # pyproject.toml): the host builds them offline, checked against the lock's hashes.
    build_id = stack.build(build, suffix="roll", from_source=" ".join(FROM_SOURCE))
    with tarfile.open(build / f"refractor-{build_id}.tar") as tar:
        shipped = [n for n in tar.getnames() if n.startswith("wheels/")]
    for project, version in FROM_SOURCE.items():
        assert f"wheels/{project}-{version}.tar.gz" in shipped, shipped
        assert not [n for n in shipped if n.startswith(f"wheels/{project}-") and n.endswith(".whl")]
    stop, results = threading.Event(), []
    poller = threading.Thread(target=_poll, args=(stop, results))
    poller.start()
    try:
        time.sleep(1)
        update = run(["bash", "scripts/deploy-update.sh", "e2e"], env={"REFRACTOR_BUILD_DIR": str(build)})
        assert "backing up e2e" in update.stdout
        time.sleep(1)
    finally:
        stop.set()
        poller.join()
    after = current_release()
    assert after != before and after.startswith((build / "BUILD_ID").read_text().strip())
    failures = [r for r in results if r[0] != 200]
    assert len(results) > 50 and not failures, f"{len(failures)} of {len(results)} failed: {failures[:5]}"
    STATE["good_build"] = build / "BUILD_ID"
    STATE["good_release"] = after
    venv = f"/opt/refractor/releases/{after}"
    built = ssh(f"{venv}/bin/python -c 'import h11, idna; print(h11.__file__, idna.__file__)'").stdout
    assert built.count(f"{venv}/lib/python3.11/site-packages/") == 2, built


def test_a_tampered_source_distribution_is_refused_on_the_host(stack: Stack, tmp_path: Path) -> None:
    build = STATE["good_build"].parent
    build_id = STATE["good_build"].read_text().strip()
    tampered = tmp_path / "tampered.tar"
    tamper_sdist(build / f"refractor-{build_id}.tar", tampered, "idna")
    run(f"bash scripts/e2e/hosts.sh ssh {HOST_INDEX} 'cat >/root/tampered.tar' <{tampered}")
    try:
        proc = ssh("/opt/refractor/bin/refractor-release install tampered /root/tampered.tar", check=False)
        said = proc.stdout + proc.stderr
        assert proc.returncode != 0 and "DO NOT MATCH THE HASHES" in said and "idna" in said, said[-3000:]
        assert ssh("test -e /opt/refractor/releases/tampered/.installed; echo $?").stdout.strip() == "1"
    finally:
        ssh("rm -rf /opt/refractor/releases/tampered /opt/refractor/releases/tampered.tmp /root/tampered.tar")


def test_release_failing_its_health_check_is_rolled_back(stack: Stack, tmp_path: Path) -> None:
    good = STATE.get("good_release") or current_release()
    good_build = STATE["good_build"].parent if "good_build" in STATE else stack.build_dir
    broken = tmp_path / "broken"
    break_build(good_build, broken)
    proc = stack.deploy("--release-only", build_dir=broken, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "rolled back" in out, out[-3000:]
    assert current_release() == good
    assert ssh("systemctl is-active refractor@8001 refractor@8002").stdout.split() == ["active"] * 2
    with client() as c:
        assert api(c, "GET", "/health").status_code == 200


def test_rollback_after_an_auto_rollback_picks_the_last_good_release(stack: Stack) -> None:
    # History: first (healthy), good (healthy), broken (failed, rolled back to good). The newest
    # other release is the broken one; rollback must skip it and go to first.
    assert current_release() == STATE["good_release"]
    run(["make", "-s", "rollback", "ENV=e2e"], timeout=600)
    assert current_release() == STATE["first_release"]
    with client() as c:
        assert api(c, "GET", "/health").status_code == 200
    history = ssh("cat /opt/refractor/history").stdout
    assert f"{STATE['good_release']} rolled-back" in history and "-broken-" in history
    again = run(["make", "-s", "rollback", "ENV=e2e"], check=False, timeout=600)
    assert again.returncode != 0, "good was rolled back and broken failed: nothing is left to go back to"
    assert "nothing to roll back to" in again.stdout + again.stderr
    assert current_release() == STATE["first_release"]


def test_ssh_dropped_during_activation_leaves_the_host_on_a_working_release(stack: Stack) -> None:
    proc = subprocess.Popen(
        ["bash", "scripts/deploy.sh", "e2e", "--release-only"],
        cwd=ROOT,
        env={
            **os.environ,
            "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
            "REFRACTOR_BUILD_DIR": str(STATE["good_build"].parent),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 600
        while ssh("systemctl is-active refractor-activate.service", check=False).stdout.strip() != "active":
            assert proc.poll() is None and time.time() < deadline, "the activation never started"
            time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the deploy and its SSH connection, mid-activation
        proc.wait()
    survived = ssh("systemctl is-active refractor-activate.service", check=False).stdout.strip()
    ssh(
        "for i in $(seq 600); do systemctl is-active --quiet refractor-activate.service || exit 0;"
        " sleep 0.5; done; exit 1",
        timeout=400,
    )
    print(f"activation still running right after the SSH drop: {survived}")
    assert ssh("cat /opt/refractor/.last-activation").stdout.split() == [STATE["good_release"], "ok"]
    assert current_release() == STATE["good_release"]
    assert ssh("systemctl is-active refractor@8001 refractor@8002").stdout.split() == ["active"] * 2
    with client() as c:
        assert api(c, "GET", "/health").status_code == 200
    # Deploying again finds the release active: nothing to do.
    again = stack.deploy("--release-only", build_dir=STATE["good_build"].parent)
    assert "Grand total" in again.stdout and current_release() == STATE["good_release"]


def test_a_unit_that_breaks_start_is_rolled_back_with_the_unit(stack: Stack) -> None:
    """The units are part of the release: an instance unit whose environment the app's config
    validation refuses fails the health gate, and the host goes back to the previous release AND its
    units. (The last test's `make plan` shows that nothing is left to change afterwards.)"""
    good = current_release()
    unit_before = ssh("systemctl cat refractor@8001.service").stdout
    bad = "Environment=REFRACTOR_AUTH_SIGNING_KEY=not-a-secret-seed"
    with stack.inventory_vars(refractor_service_extra=[bad]):
        proc = stack.deploy("--release-only", build_dir=STATE["good_build"].parent, check=False)
    out = proc.stdout + proc.stderr
    failed = re.search(r"release (\S+) FAILED and was rolled back to (\S+)", out)
    assert proc.returncode != 0 and failed, out[-3000:]
    assert failed.group(1) != good and failed.group(2) == good, failed.group(0)
    assert bad in ssh(f"cat /opt/refractor/releases/{failed.group(1)}/units/refractor@.service").stdout
    # It was the unit: the instance refused its environment at start.
    assert "auth.signingKey" in ssh("journalctl -u refractor@8001.service --no-pager -n 300").stdout
    assert current_release() == good
    unit_after = ssh("systemctl cat refractor@8001.service").stdout
    assert unit_after == unit_before and bad not in unit_after
    assert ssh("systemctl is-active refractor@8001 refractor@8002").stdout.split() == ["active"] * 2
    with client() as c:
        assert api(c, "GET", "/health").status_code == 200
    assert f"{failed.group(1)} failed" in ssh("cat /opt/refractor/history").stdout


def test_a_deploy_without_free_space_stops_before_uploading(stack: Stack, tmp_path: Path) -> None:
    good = current_release()
    # A build the host has never seen (the same files under another id): it would be uploaded.
    good_id = STATE["good_build"].read_text().strip()
    build, build_id = tmp_path / "build", good_id + "-room"
    build.mkdir()
    shutil.copy(STATE["good_build"].parent / f"refractor-{good_id}.tar", build / f"refractor-{build_id}.tar")
    (build / "BUILD_ID").write_text(build_id + "\n")
    free_mib = int(ssh("df -PBM /opt | awk 'NR == 2 {print $4}'").stdout.strip().rstrip("M"))
    listing = "ls /opt/refractor/builds /opt/refractor/releases"
    before = ssh(listing).stdout
    with stack.inventory_vars(refractor_free_space_reserve_mb=free_mib + 1024):
        proc = stack.deploy("--release-only", build_dir=build, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]
    assert "not enough free space" in out and "nothing was uploaded" in out, out[-3000:]
    assert ssh(listing).stdout == before and build_id not in before
    assert current_release() == good
    with client() as c:
        assert api(c, "GET", "/health").status_code == 200


def _snapshot(c: httpx.Client, admin_token: str) -> Any:
    # An unfiltered listing is the operator's view: it needs the admin token.
    listing = api(c, "GET", "/tx", params={"limit": 100}, headers={"Authorization": f"Bearer {admin_token}"})
    assert listing.status_code == 200, listing.text
    return {"one": api(c, "GET", f"/tx/{STATE['tx_hash']}").json(), "list": listing.json()["items"]}


def test_backup_wipe_restore_gives_identical_records(stack: Stack) -> None:
    with client() as c:
        before = _snapshot(c, stack.admin_token)
    made = run(["bash", "scripts/backup.sh", "e2e"])
    backup = made.stdout.strip().splitlines()[-1]
    assert backup.startswith("/var/backups/refractor/refractor-")
    assert "off-host restic snapshot" in made.stderr, made.stderr  # the local-path repository
    ssh(
        "systemctl stop refractor.target && rm -f /var/lib/refractor/refractor.db* && "
        "systemctl start refractor.target"
    )
    # Both instances answer again (on a loaded machine that takes a while; Nginx says 502 until then).
    ssh(
        "for p in 8001 8002; do for i in $(seq 600); do"
        " curl -fsS -o /dev/null http://127.0.0.1:$p/health && continue 2; sleep 0.5; done; exit 1; done",
        timeout=400,
    )
    with client() as c:
        assert api(c, "GET", f"/tx/{STATE['tx_hash']}").status_code == 404, "the wipe took effect"
    # Without a terminal to confirm on (setsid: none, even when the suite runs in one) and without
    # --yes, nothing happens.
    refused = run(["setsid", "-w", "bash", "scripts/restore.sh", "e2e", backup], check=False)
    assert refused.returncode == 1 and "nothing was changed" in refused.stderr, refused.stderr
    restored = run(["bash", "scripts/restore.sh", "e2e", backup, "--yes"], timeout=300)
    assert json.loads(restored.stdout.strip().splitlines()[-1])["safety_backup"].startswith(
        "/var/backups/refractor/pre-restore-"
    )
    with client() as c:
        after = _snapshot(c, stack.admin_token)
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)
    drill = ssh("systemctl start refractor-backup-drill.service && cat /var/lib/refractor-backup/drill.json")
    assert json.loads(drill.stdout)["ok"] is True


def test_scheduled_jobs_run_cleanly_on_the_host(stack: Stack) -> None:
    timers = ssh("systemctl list-timers --all --no-legend 'refractor-*'").stdout
    for timer in (
        "refractor-monitor",
        "refractor-backup",
        "refractor-backup-check",
        "refractor-backup-drill",
        "refractor-db-maintenance",
    ):
        assert f"{timer}.timer" in timers, timers
    ssh("systemctl start refractor-db-maintenance.service refractor-backup-check.service")
    units = (
        "refractor@.service refractor.target refractor-monitor.service refractor-backup.service "
        "refractor-backup-drill.service"
    )
    verify = ssh(f"cd /etc/systemd/system && systemd-analyze verify --man=no {units} 2>&1", check=False)
    assert verify.returncode == 0 and verify.stdout.strip() == "", verify.stdout
    checks = run(["bash", "scripts/monitor.sh", "e2e"], check=False)
    assert checks.returncode == 0, checks.stdout
    assert "OK   queue: queue length is 0" in checks.stdout and "OK   success-rate" in checks.stdout
    assert "OK   metrics" in checks.stdout and "OK   callbacks" in checks.stdout
    assert f"OK   https-{UI_HOST}" in checks.stdout and f"OK   https-{API_HOST}" in checks.stdout
    assert "OK   deadman: pinged" in checks.stdout
    assert stack.sink is not None and "e2e-web" in stack.sink.pings


def _alerted(stack: Stack, check: str, status: str = "FAIL", wait: float = 120) -> bool:
    assert stack.sink is not None
    deadline = time.time() + wait
    while time.time() < deadline:
        if any(a.get("check") == check and a.get("status") == status for a in stack.sink.alerts):
            return True
        time.sleep(0.2)
    return False


def test_failed_and_stale_backups_alert(stack: Stack) -> None:
    ssh("chmod 0500 /var/backups/refractor")
    try:
        assert ssh("systemctl start refractor-backup.service", check=False).returncode != 0
        assert _alerted(stack, "unit-refractor-backup.service"), stack.sink.alerts if stack.sink else None
    finally:
        ssh("chmod 0750 /var/backups/refractor")
    ssh("touch -d '3 days ago' /var/backups/refractor/refractor-*.tar.gz")
    assert ssh("systemctl start refractor-backup-check.service", check=False).returncode != 0
    assert _alerted(stack, "backup"), stack.sink.alerts if stack.sink else None


def test_rotated_app_log_is_reopened(stack: Stack) -> None:
    ssh("logrotate -f /etc/logrotate.d/refractor && test -s /var/log/refractor/refractor.log.1")
    with client() as c:
        for _ in range(5):
            api(c, "GET", f"/tx/{STATE['tx_hash']}")
    ssh("for i in $(seq 240); do test -s /var/log/refractor/refractor.log && exit 0; sleep 0.5; done; exit 1")


def test_stopping_the_app_makes_the_monitoring_alert(stack: Stack) -> None:
    assert stack.sink is not None
    pings = len(stack.sink.pings)
    ssh("systemctl stop refractor.target")
    try:
        proc = run(["bash", "scripts/monitor.sh", "e2e"], check=False)
        assert proc.returncode != 0
        assert "FAIL health-8001" in proc.stdout, proc.stdout
        assert _alerted(stack, "health-8001"), stack.sink.alerts
        # A failing run does not ping the dead-man switch: the pings stop, which alerts outside.
        assert "deadman" not in proc.stdout and len(stack.sink.pings) == pings
    finally:
        ssh("systemctl start refractor.target")
    # Both instances answer again before the next run (it would fail, and rightly, without them).
    ssh(
        "for p in 8001 8002; do for i in $(seq 600); do"
        " curl -fsS -o /dev/null http://127.0.0.1:$p/health && continue 2; sleep 0.5; done; exit 1; done",
        timeout=400,
    )
    recovered = run(["bash", "scripts/monitor.sh", "e2e"], check=False)
    assert recovered.returncode == 0, recovered.stdout
    assert _alerted(stack, "health-8001", status="OK"), stack.sink.alerts
    assert len(stack.sink.pings) == pings + 1


def test_plan_after_all_of_it_reports_no_changes_and_changes_nothing(stack: Stack) -> None:
    before = ssh("cat /opt/refractor/.active; ls /opt/refractor/releases").stdout
    proc = run(
        ["make", "-s", "plan", "ENV=e2e"],
        env={"REFRACTOR_BUILD_DIR": str(STATE["good_build"].parent)},
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert re.findall(r"e2e-web\s*:\s*ok=\d+\s+changed=(\d+)", out) == ["0"], out[-3000:]
    table = out.split("Detected changes:")[1].split("\n\n")[0].splitlines()[2:]
    # Neither a change nor a conditional change on any operation.
    rows = [re.split(r"\s{2,}", row.strip()) for row in table]
    assert rows and all(cols[1:] == ["-", "-"] for cols in rows), "\n".join(table)
    assert ssh("cat /opt/refractor/.active; ls /opt/refractor/releases").stdout == before
