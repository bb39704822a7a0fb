"""Production's shape: `make deploy ENV=e2e-multi` puts Nginx on one host and the app on two more
that share an external MongoDB (a MongoDB-wire test server on the build host). The app hosts run
the split process layout (API and job workers in separate units), and the second one is reachable
over SSH only through the Nginx host (ProxyJump; the harness refuses direct SSH to it)."""

from __future__ import annotations

import json
import re
import socket
import stat
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pymongo import MongoClient
from stellar_sdk import Account, Asset, Keypair, Network, TransactionBuilder

from tests.deploy.e2e_stack import Stack, ssh
from tests.deploy.releases import break_build, mark_ui, relabel_build, served_ui_marker
from tests.deploy.tools import run

pytestmark = pytest.mark.e2e

WEB, APP1, APP2 = 32, 33, 34
NAMES = {WEB: "m-web", APP1: "m-app1", APP2: "m-app2"}
UI_HOST = "refractor.e2e.test"
UNITS = ("refractor@8001.service", "refractor-worker@3001.service")  # the split layout's two kinds
STATE: dict[str, Any] = {}


def client() -> httpx.Client:
    # A loaded machine may take more than a few seconds to answer; a hanging request still fails.
    return httpx.Client(base_url=f"https://10.213.{WEB}.2", verify=False, timeout=30)


def get(c: httpx.Client, path: str) -> httpx.Response:
    return c.get(path, headers={"Host": UI_HOST, "Accept": "application/json"})


def release(host: int) -> str:
    return ssh("readlink /opt/refractor/current", host=host).stdout.strip().rsplit("/", 1)[-1]


def served_ui() -> str:
    with client() as c:
        page = c.get("/", headers={"Host": UI_HOST, "Accept": "text/html"})
    assert page.status_code == 200, page.text[:300]
    return page.text


def invocations(host: int) -> dict[str, str]:
    out = ssh("systemctl show -p Id -p InvocationID " + " ".join(UNITS), host=host).stdout
    blocks = [dict(line.split("=", 1) for line in b.splitlines() if "=" in line) for b in out.split("\n\n")]
    ids = {b["Id"]: b.get("InvocationID", "") for b in blocks if "Id" in b}
    assert set(ids) == set(UNITS) and all(ids.values()), out
    return ids


def ssh_logins(host: int) -> Counter[str]:
    """How many logins the host's sshd accepted, by source address (its journal). The harness's own
    checks come from 10.213.N.1; the build machine's LAN address is 10.213.30.1; the jump host's
    is 10.213.30.32."""
    out = ssh("journalctl -u ssh.service --no-pager -o cat | grep 'Accepted publickey' || true", host=host)
    return Counter(re.findall(r"Accepted publickey for \S+ from (\S+)", out.stdout))


def history(host: int) -> list[tuple[int, str, str]]:
    """`refractor-release status`: (epoch, release, outcome) per activation on the host."""
    out = ssh("cat /opt/refractor/history", host=host).stdout
    return [(int(t), r, o) for t, r, o in (line.split() for line in out.splitlines() if line.strip())]


def poll_during(action: Any) -> tuple[Any, list[tuple[float, Any, str | None]]]:
    """Run action() while reading a transaction and the UI through Nginx: (action's result,
    [(time, status code or error, UI marker)])."""
    stop, results = threading.Event(), []

    def poll() -> None:
        with client() as c:
            while not stop.is_set():
                try:
                    tx = get(c, f"/tx/{STATE['tx_hash']}")
                    page = c.get("/", headers={"Host": UI_HOST, "Accept": "text/html"})
                    outcome: Any = tx.status_code if page.status_code == 200 else f"UI {page.status_code}"
                    results.append((time.time(), outcome, served_ui_marker(page.text)))
                except httpx.HTTPError as exc:
                    results.append((time.time(), repr(exc), None))
                time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        outcome = action()
        time.sleep(1)
    finally:
        stop.set()
        poller.join()
    return outcome, results


def test_deploy_puts_nginx_and_the_app_on_separate_hosts(multi_stack: Stack) -> None:
    # Three hosts provisioned from scratch on a machine the whole test suite shares: minutes.
    multi_stack.deploy(timeout=1800)
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


def test_the_split_layout_runs_api_and_workers_as_separate_units(multi_stack: Stack) -> None:
    for host in (APP1, APP2):
        states = ssh(f"systemctl is-active {' '.join(UNITS)}", host=host, check=False).stdout.split()
        assert states == ["active", "active"], (host, states)
        api = ssh("systemctl show -p ExecStart --value refractor@8001.service", host=host).stdout
        worker = ssh("systemctl show -p ExecStart --value refractor-worker@3001.service", host=host).stdout
        assert "serve" in api and "--no-worker" in api, api
        assert "refractor worker --health-port 3001" in worker, worker
        health = json.loads(ssh("curl -fsS -m 5 http://127.0.0.1:3001/monitoring/health", host=host).stdout)
        assert health == {"status": "ok", "storage": "mongodb", "role": "worker"}, health
        # Two processes: the API's and the worker's, in their own cgroups.
        pids = ssh(f"systemctl show -p MainPID --value {' '.join(UNITS)}", host=host).stdout.split()
        assert len(set(pids)) == 2 and "0" not in pids, pids


def test_ansible_and_pyinfra_reach_the_private_host_through_the_jump_host(multi_stack: Stack) -> None:
    # From the build machine, m-app2's address refuses SSH (the harness's firewall rule) ...
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.settimeout(10)
        probe.connect(("10.213.30.34", 22))
    # ... yet the deploy (Ansible, then pyinfra) reached it: through m-web, never directly.
    logins = ssh_logins(APP2)
    assert logins["10.213.30.32"] > 0 and logins["10.213.30.1"] == 0, logins
    assert ssh_logins(APP1)["10.213.30.32"] == 0, "m-app1 is reached directly"


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
        deadline = time.time() + 180
        while time.time() < deadline and get(c, f"/tx/{tx.hash_hex()}").json()["status"] != "processed":
            time.sleep(0.5)
        # least_conn spreads these over both app hosts: each must see the shared record.
        seen = {get(c, f"/tx/{tx.hash_hex()}").json()["status"] for _ in range(10)}
    assert seen == {"processed"}
    # Submitted by a `refractor worker` process: the API instances run --no-worker (split layout).
    assert control.get(f"/transactions/{tx.hash_hex()}").status_code == 200
    control.close()
    STATE["tx_hash"] = tx.hash_hex()


def test_release_rolls_host_by_host_without_failed_requests(multi_stack: Stack, tmp_path: Path) -> None:
    before = {release(APP1), release(APP2)}
    started = {h: invocations(h) for h in (APP1, APP2)}
    build = tmp_path / "build"
    # Another release of the same code (as REFRACTOR_BUILD_SUFFIX makes one), without building again.
    new_build = relabel_build(multi_stack.build_dir, build, "multi-roll")
    mark_ui(build, new_build)
    assert served_ui_marker(served_ui()) is None
    _, results = poll_during(lambda: multi_stack.deploy("--release-only", build_dir=build))
    after = {release(APP1), release(APP2)}  # one release per host: the bind address is in the config
    assert all(r.startswith(new_build + "-c") for r in after) and not after & before
    assert release(WEB) == new_build, "the web host got the new UI"
    failures = [r for r in results if r[1] != 200]
    assert len(results) > 50 and not failures, f"{len(failures)} of {len(results)} failed: {failures[:5]}"
    # A release switch restarts both kinds of unit on every app host.
    for host in (APP1, APP2):
        now = invocations(host)
        assert all(now[u] != started[host][u] for u in UNITS), (host, started[host], now)
    # The UI switched only once the last app host was healthy on the new release.
    [(healthy_at, _, _)] = [h for h in history(APP2) if h[1] in after and h[2] == "healthy"]
    switched = [t for t, _, marker in results if marker == new_build]
    assert switched and not [t for t, _, m in results if m == new_build and t < healthy_at]
    assert {m for _, _, m in results if m != new_build} == {None}, "only the old or the new UI was served"
    STATE["good_build"] = build


def test_failure_on_the_second_app_host_rolls_the_first_back_and_keeps_the_old_ui(
    multi_stack: Stack, tmp_path: Path
) -> None:
    """One bad release, three checks: the hosts' releases, the summary printed, the UI served."""
    before = {h: release(h) for h in (APP1, APP2, WEB)}
    ui_before = served_ui()
    broken = tmp_path / "broken"
    # Healthy on m-app1, crashing on m-app2.
    app2_hostname = ssh("hostname", host=APP2).stdout.strip()
    break_build(STATE["good_build"], broken, only_on_host=app2_hostname, ui_marker="broken")
    broken_id = (broken / "BUILD_ID").read_text().strip()
    proc, results = poll_during(
        lambda: multi_stack.deploy("--release-only", build_dir=broken, check=False)
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out[-3000:]

    # Every host is back where it was; m-app1 did run the new release, healthy, before going back.
    assert {h: release(h) for h in (APP1, APP2, WEB)} == before, out[-3000:]
    [(_, on_app1, _)] = [h for h in history(APP1) if h[1].startswith(broken_id) and h[2] == "healthy"]
    assert (on_app1, "rolled-back") in [(r, o) for _, r, o in history(APP1)]
    assert [o for _, r, o in history(APP2) if r.startswith(broken_id)] == ["failed"]

    # The summary names each host's state and the release it is on now.
    summary = out.split("==> rollout summary")[1]
    rows = {
        m.group(1): (m.group(2).strip(), m.group(3))
        for m in re.finditer(r"^\s+(m-\S+)\s+(.+?)\s+now on (\S+)\s*$", summary, re.M)
    }
    assert rows == {
        "m-app1": ("rolled back", before[APP1]),
        "m-app2": ("FAILED", before[APP2]),
        "m-web": ("not attempted", before[WEB]),
    }, summary
    assert "The rollout stopped at m-app2" in summary, summary

    # Nginx kept answering: m-app2's crashing instance was skipped, m-app1 served meanwhile.
    failures = [r for r in results if r[1] != 200]
    assert len(results) > 50 and not failures, f"{len(failures)} of {len(results)} failed: {failures[:5]}"
    # The web host never switched: the UI served throughout and after is the old bundle.
    assert served_ui() == ui_before
    assert {m for _, _, m in results} == {STATE["good_build"].joinpath("BUILD_ID").read_text().strip()}


# -- metrics, alerts and the dead-man switch ------------------------------------------------------


def _prometheus(path: str) -> Any:
    return json.loads(ssh(f"curl -fsS 'http://127.0.0.1:9090{path}'", host=WEB).stdout)


def _wait(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")


def _firing(sink: Any, alertname: str, instance: str) -> bool:
    return any(
        a.get("status") == "firing" and a["labels"].get("alertname") == alertname
        and a["labels"].get("instance") == instance
        for payload in list(sink.alerts) for a in payload.get("alerts", [])
    )


def test_metrics_scrape_every_target_and_alert_when_an_instance_stops(multi_stack: Stack) -> None:
    sink = multi_stack.sink
    assert sink is not None

    def targets_up() -> dict[str, int] | None:
        active = _prometheus("/api/v1/targets?state=active")["data"]["activeTargets"]
        if any(t["health"] != "up" for t in active):
            return None
        jobs: dict[str, int] = {}
        for t in active:
            jobs[t["labels"]["job"]] = jobs.get(t["labels"]["job"], 0) + 1
        return jobs

    jobs = _wait(targets_up, 120, "every Prometheus target to be up")
    assert jobs == {"prometheus": 1, "refractor": 2, "node": 3}, jobs

    checks = run(["bash", "scripts/monitor.sh", "e2e-multi"], check=False)
    assert checks.returncode == 0, checks.stdout
    assert f"OK   https-{UI_HOST}" in checks.stdout and "OK   callbacks" in checks.stdout
    for name in ("m-app1", "m-app2"):  # the split layout's workers are checked on their health port
        assert "OK   worker-3001" in checks.stdout.split(f"== {name}")[1].split("\n== ")[0], checks.stdout
    assert {"m-web", "m-app1", "m-app2"} <= set(sink.pings), sink.pings

    pings = len(sink.pings)
    ssh("systemctl stop refractor@8001.service refractor-worker@3001.service", host=APP2)
    try:
        _wait(lambda: _firing(sink, "RefractorInstanceDown", "10.213.30.34:8001"), 180,
              "Alertmanager to deliver RefractorInstanceDown for the stopped instance")
        failing = run(["bash", "scripts/monitor.sh", "e2e-multi"], check=False)
        assert failing.returncode != 0
        app2 = failing.stdout.split("== m-app2")[1].split("\n== ")[0]
        assert "FAIL health-8001" in app2 and "FAIL worker-3001" in app2, failing.stdout
        # Hosts whose checks pass keep pinging; the failing one falls silent.
        assert sorted(sink.pings[pings:]) == ["m-app1", "m-web"], sink.pings[pings:]
    finally:
        ssh("systemctl start refractor@8001.service refractor-worker@3001.service", host=APP2)
    ssh("for i in $(seq 300); do curl -fsS http://10.213.30.34:8001/health >/dev/null && exit 0; "
        "sleep 1; done; exit 1", host=APP2, timeout=400)


# -- off-host backups and a point-in-time restore on every app host -------------------------------


def _admin(method: str, path: str, token: str, host: int = APP1) -> Any:
    out = ssh(f"curl -fsS -X {method} -H 'Authorization: Bearer {token}' "
              f"http://10.213.30.{host}:8001{path}", host=host).stdout
    return json.loads(out) if out.strip() else None


def _new_tx(control: httpx.Client, **body: Any) -> str:
    source, signer = Keypair.random(), Keypair.random()
    control.post("/accounts", json={
        "id": source.public_key, "master_weight": 0, "low": 1, "med": 1, "high": 1,
        "signers": [{"key": signer.public_key, "weight": 1}],
    }).raise_for_status()
    seq = int(control.get(f"/accounts/{source.public_key}").json()["seq_num"])
    tx = (
        TransactionBuilder(Account(source.public_key, seq), Network.TESTNET_NETWORK_PASSPHRASE, base_fee=100)
        .append_manage_data_op("refractor-e2e", b"1")
        .set_timeout(3600)
        .build()
    )
    tx.sign(signer)
    with client() as c:
        created = c.post("/tx", headers={"Host": UI_HOST, "Accept": "application/json"},
                         json={"network": "testnet", "xdr": tx.to_xdr(), **body})
    assert created.status_code == 200, created.text
    return tx.hash_hex()


def _state(hashes: list[str], with_callback: str, token: str) -> dict[str, Any]:
    with client() as c:
        records = {h: get(c, f"/tx/{h}").json() for h in hashes}
        listing = c.get("/tx", params={"limit": 100}, headers={
            "Host": UI_HOST, "Accept": "application/json", "Authorization": f"Bearer {token}"})
    metrics = _admin("GET", "/monitoring/metrics", token)
    return {"records": records, "listing": listing.json()["items"],
            "deliveries": _admin("GET", f"/tx/{with_callback}/deliveries", token)["items"],
            "paused": metrics["finalizer"]["metrics"]["paused"]}


def _invocations() -> list[str]:
    return [ssh("systemctl show -p InvocationID --value refractor@8001.service", host=h).stdout.strip()
            for h in (APP1, APP2)]


def test_off_host_backup_and_point_in_time_restore(multi_stack: Stack, tmp_path: Path) -> None:
    sink, token = multi_stack.sink, multi_stack.admin_token
    assert sink is not None
    control = httpx.Client(base_url=multi_stack.control_url, timeout=10)
    # A callback that keeps failing (503) stays pending with its attempts logged.
    sink.callback_status = 503
    with_callback = _new_tx(control, submit=True, callbackUrl=f"{multi_stack.sink_url}/callback")
    _wait(lambda: any(b.get("hash") == with_callback for _, b in sink.callbacks), 90,
          "a first callback attempt")
    _admin("POST", "/monitoring/queue/pause", token)
    # An attempt claimed before the pause finishes before the backup: otherwise its outcome lands
    # after the backup and the restored state differs. The pause is read before each claim; 3 s
    # covers a claim under way, then the store says when no attempt runs (a loaded machine's
    # attempt takes longer than any fixed wait).
    time.sleep(3)
    _wait(lambda: not _admin("GET", "/monitoring/metrics", token)["jobs"]["deliver_callback"].get("running"),
          120, "the callback attempt claimed before the pause to finish")

    fetched = tmp_path / "fetched"
    made = run(["bash", "scripts/backup.sh", "e2e-multi", "--fetch", str(fetched)], timeout=300)
    assert "off-host restic snapshot" in made.stderr, made.stderr
    [local] = fetched.iterdir()
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    hashes = [STATE["tx_hash"], with_callback]
    before = _state(hashes, with_callback, token)
    assert before["paused"] is True
    assert [d["status"] for d in before["deliveries"]] == ["pending"], before

    # After the backup: a record added, one deleted, the queue resumed, the callback retried.
    added = _new_tx(control)
    uri = yaml.safe_load(multi_stack.generated.read_text())["refractor_secrets"]["db"]
    with MongoClient(uri) as mongo:
        assert mongo.get_default_database()["txs"].delete_one({"_id": STATE["tx_hash"]}).deleted_count == 1
    _admin("POST", "/monitoring/queue/resume", token)
    changed = _state([*hashes, added], with_callback, token)
    assert changed["records"][STATE["tx_hash"]]["status"] == 404, "deleted"
    assert changed["paused"] is False

    started = _invocations()
    restored = run(["bash", "scripts/restore.sh", "e2e-multi", "restic:latest", "--yes"], timeout=600)
    result = json.loads(restored.stdout.strip().splitlines()[-1])
    assert result["previously"]["records"] >= 2 and result["safety_backup"]
    assert all(a != b for a, b in zip(started, _invocations(), strict=True)), "every instance was restarted"

    after = _state(hashes, with_callback, token)
    assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)
    with client() as c:
        assert get(c, f"/tx/{added}").status_code == 404, "a record absent from the backup is gone"

    # The restored pending callback goes out once the queue is resumed.
    sink.callback_status = 204
    _admin("POST", "/monitoring/queue/resume", token)
    _wait(lambda: any(s == 204 and b.get("hash") == with_callback for s, b in sink.callbacks), 120,
          "the restored pending callback to be delivered")
    control.close()

    drill = ssh("systemctl start refractor-backup-drill.service && cat /var/lib/refractor-backup/drill.json",
                host=APP1, timeout=300)
    report = json.loads(drill.stdout)
    assert report["ok"] is True and report["counts"]["records"] == result["restored"]["records"]


def _banned(host: int) -> list[str]:
    out = ssh("fail2ban-client status sshd", host=host).stdout
    [line] = [x for x in out.splitlines() if "Banned IP list:" in x]
    return line.split("Banned IP list:")[1].split()


def _fail_logins(source: int, target: str, times: int = 8) -> None:
    """Logins as a user that does not exist: each one a failure in sshd's journal for fail2ban."""
    ssh(f"for i in $(seq {times}); do ssh -o BatchMode=yes -o StrictHostKeyChecking=no "
        "-o UserKnownHostsFile=/dev/null -o ConnectTimeout=10 -o LogLevel=ERROR "
        f"refractor-nobody@{target} true 2>/dev/null; done; true", host=source, timeout=300)


def test_failed_logins_through_the_jump_host_never_ban_it(multi_stack: Stack) -> None:
    """Every login to m-app2 comes from m-web's address: an agent offering wrong keys must not get
    m-web banned there (it would lock every operator out of m-app2). The same failures from m-app1's
    address do get it banned: the jail works, it only trusts the jump host."""
    assert "10.213.30.32" in ssh("fail2ban-client get sshd ignoreip", host=APP2).stdout
    _fail_logins(WEB, "10.213.30.34")
    _fail_logins(APP1, "10.213.30.34")
    try:
        _wait(lambda: "10.213.30.33" in _banned(APP2), 180, "fail2ban on m-app2 to ban m-app1's address")
        # (the next test's `make plan` reaches m-app2 through m-web again)
        assert "10.213.30.32" not in _banned(APP2)
    finally:
        ssh("fail2ban-client set sshd unbanip 10.213.30.33 || true", host=APP2)


def _release_state() -> dict[int, str]:
    return {h: ssh("cat /opt/refractor/.active; ls /opt/refractor/releases", host=h).stdout for h in NAMES}


def test_plan_through_the_jump_host_reports_no_changes(multi_stack: Stack) -> None:
    """`make plan` after all of the above (a rollout, a failed one, a restore): both stages reach
    m-app2 through m-web and find nothing to change, m-app1's rollback included."""
    before = _release_state()
    logins = ssh_logins(APP2)["10.213.30.32"]
    proc = run(
        ["make", "-s", "plan", "ENV=e2e-multi"],
        env={"REFRACTOR_BUILD_DIR": str(STATE["good_build"])},
        timeout=900,
    )
    out = proc.stdout + proc.stderr
    recap = dict(re.findall(r"^(m-\S+)\s*:\s*ok=\d+\s+changed=(\d+)", out, re.M))
    assert recap == {"m-web": "0", "m-app1": "0", "m-app2": "0"}, out[-4000:]
    table = out.split("Detected changes:")[1].split("\n\n")[0].splitlines()[2:]
    # One row per operation: neither a change nor a conditional change on any host.
    rows = [re.split(r"\s{2,}", row.strip()) for row in table]
    assert rows and all(cols[1:] == ["-", "-"] for cols in rows), "\n".join(table)
    assert _release_state() == before
    assert ssh_logins(APP2)["10.213.30.32"] > logins, "the plan reached m-app2 through m-web"
