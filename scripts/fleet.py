"""Operator commands that span hosts: backup, restore, monitor (called by scripts/*.sh).

Every remote step runs through `ansible` with the JSON stdout callback, so results (return code,
stdout, unreachable hosts) are read as data, never scraped from Ansible's display output. The
operator's own Ansible settings for output (extra callbacks such as profile_tasks, another stdout
callback, verbosity) are overridden for these runs: they would print around or instead of the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BACKUP_DIR = "/var/backups/refractor"
# Every app process this distribution installs; the worker units exist only in that layout.
APP_UNITS = "refractor.target 'refractor@*.service' 'refractor-worker@*.service'"


# Environment settings that would change what Ansible prints on stdout (the old name of
# ANSIBLE_CALLBACKS_ENABLED included); fleet.py sets its own where it needs one.
_OUTPUT_SETTINGS = {
    "ANSIBLE_CALLBACKS_ENABLED", "ANSIBLE_CALLBACK_WHITELIST", "ANSIBLE_CALLBACKS_WHITELIST",
    "ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_LOAD_CALLBACK_PLUGINS", "ANSIBLE_CALLBACK_RESULT_FORMAT",
    "ANSIBLE_DEBUG", "ANSIBLE_FORCE_COLOR", "ANSIBLE_JSON_INDENT",
}  # fmt: skip


class FleetError(Exception):
    pass


def _report(stdout: str) -> dict[str, Any]:
    """The JSON callback's report: the one JSON object on stdout with "plays", wherever it starts
    (a line printed before it by something the environment still enabled is skipped)."""
    decoder = json.JSONDecoder()
    start = 0
    while (start := stdout.find("{", start)) != -1:
        if start == 0 or stdout[start - 1] == "\n":
            try:
                value, _ = decoder.raw_decode(stdout, start)
            except ValueError:
                value = None
            if isinstance(value, dict) and "plays" in value:
                return value
        start += 1
    raise ValueError("no JSON report on stdout")


class Fleet:
    def __init__(self, env: str, inventory: Path | None = None) -> None:
        self.env = env
        self.inventory = inventory or ROOT / "inventories" / env / "hosts.yml"
        if not self.inventory.is_file():
            raise FleetError(f"no inventory {self.inventory}")

    def _env(self) -> dict[str, str]:
        # Settings that add to or replace the JSON on stdout, whatever the operator's shell sets.
        ours = {k: v for k, v in os.environ.items() if k not in _OUTPUT_SETTINGS}
        return {**ours, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
                "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
                "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json",  # no aggregate callback printing
                "ANSIBLE_VERBOSE_TO_STDERR": "1", "ANSIBLE_NOCOLOR": "1",
                "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}

    def hosts(self, group: str) -> list[str]:
        proc = subprocess.run(["ansible-inventory", "-i", str(self.inventory), "--list"],
                              capture_output=True, text=True, env=self._env(), check=False)
        if proc.returncode != 0:
            raise FleetError(f"cannot read the inventory: {proc.stderr.strip()}")
        data = json.loads(proc.stdout)
        found: list[str] = []
        pending = [group]
        while pending:  # a group's hosts and its children's, in inventory order
            entry = data.get(pending.pop(0), {})
            found += [h for h in entry.get("hosts", []) if h not in found]
            pending += entry.get("children", [])
        return found

    def module(self, pattern: str, module: str, args: str, check: bool = True) -> dict[str, dict[str, Any]]:
        """Run one module on the hosts matching ``pattern``: each host's result."""
        proc = subprocess.run(
            ["ansible", "-i", str(self.inventory), pattern, "-b", "-m", module, "-a", args],
            capture_output=True, text=True, env=self._env(), check=False)
        try:
            report = _report(proc.stdout)
            results: dict[str, dict[str, Any]] = report["plays"][0]["tasks"][0]["hosts"]
        except (ValueError, KeyError, IndexError):
            raise FleetError(f"ansible gave no readable result (rc={proc.returncode}): "
                             f"{(proc.stderr or proc.stdout).strip()[-2000:]}") from None
        if check:
            bad = {h: r for h, r in results.items() if r.get("failed") or r.get("unreachable")}
            if bad:
                raise FleetError("; ".join(f"{h}: {_why(r)}" for h, r in bad.items()))
        return results

    def shell(self, pattern: str, command: str, check: bool = True) -> dict[str, dict[str, Any]]:
        return self.module(pattern, "ansible.builtin.shell", command, check=check)


def _why(result: dict[str, Any]) -> str:
    if result.get("unreachable"):
        return f"unreachable ({result.get('msg', '').strip()})"
    text = (result.get("stderr") or result.get("msg") or result.get("stdout") or "").strip()
    return f"rc={result.get('rc')}: {text[-1500:]}"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- backup -------------------------------------------------------------------------------------


def backup(fleet: Fleet, fetch: Path | None) -> int:
    first = fleet.hosts("app")[0]
    result = fleet.shell(first, "systemctl start refractor-backup.service && "
                                "cat /var/lib/refractor-backup/last.json")[first]
    last = json.loads(result["stdout"].strip().splitlines()[-1])
    counts = ", ".join(f"{n} {name}" for name, n in last["counts"].items())
    snapshot = f"; off-host restic snapshot {last['snapshot']}" if last.get("snapshot") else \
        "; NOT copied off the host (backup_restic_repository is not set)"
    say(f"backup on {first}: {last['path']} ({counts}){snapshot}")
    if fetch is not None:
        fetch.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = fetch / Path(last["path"]).name
        old = os.umask(0o077)  # the file is private from the moment it exists
        try:
            fleet.module(first, "ansible.builtin.fetch",
                         f"src={last['path']} dest={target} flat=true")
        finally:
            os.umask(old)
        target.chmod(0o600)
        say(f"fetched to {target} (mode 0600)")
    print(last["path"])
    return 0


# -- restore ------------------------------------------------------------------------------------


def restore(fleet: Fleet, source: str, yes: bool) -> int:
    app_hosts = fleet.hosts("app")
    if not app_hosts:
        raise FleetError("the inventory has no app hosts")
    first = app_hosts[0]
    remote = _place(fleet, first, source)

    # The manifest is checked before anything is stopped or touched.
    say(f"==> verifying {remote} on {first}")
    verify = fleet.shell(first, _as_app("/opt/refractor/current/bin/refractor backup verify --json "
                                        + shlex.quote(remote)), check=False)[first]
    if verify.get("rc") != 0:
        raise FleetError(f"the backup does not verify, nothing was changed: {_why(verify)}")
    report = json.loads(verify["stdout"].strip().splitlines()[-1])
    counts = report["counts"]
    # Every collection the archive holds, whatever its format (2: deliveries, 3: jobs, ...).
    say(f"    backup of {report['created_at']} (format {report.get('format_version')}): "
        + ", ".join(f"{n} {name}" for name, n in counts.items())
        + f" (from {report['source_engine']})")
    if not yes and not _confirm(fleet.env, app_hosts):
        say("restore: cancelled, nothing was changed")
        return 1

    say(f"==> stopping every app instance on {', '.join(app_hosts)}")
    try:
        fleet.shell("app", f"systemctl stop {APP_UNITS}")
        running = fleet.shell("app", "systemctl list-units --plain --no-legend --state=active "
                                     "'refractor@*.service' 'refractor-worker@*.service'")
        still = {h: r["stdout"].strip() for h, r in running.items() if r["stdout"].strip()}
        if still:
            raise FleetError(f"instances still running: {still}")
        say(f"==> restoring on {first} (a safety backup of the current data is taken first)")
        done = fleet.shell(first, f"/usr/local/sbin/refractor-restore --json {shlex.quote(remote)}",
                           check=False)[first]
        if done.get("rc") != 0:
            raise FleetError(f"restore failed: {_why(done)}")
        result = json.loads(done["stdout"].strip().splitlines()[-1])
    finally:
        # Whatever happened, the instances run again (on the old data if the restore failed
        # before writing, on the restored data otherwise).
        say(f"==> starting the app instances on {', '.join(app_hosts)}")
        _start(fleet)
    restored = ", ".join(f"{n} {name}" for name, n in result["restored"].items())
    say(f"restored {restored} from the backup of {result['created_at']}; the data replaced is in "
        f"{first}:{result['safety_backup']}")
    print(json.dumps(result))
    return 0


def _place(fleet: Fleet, host: str, source: str) -> str:
    """The backup as a path on ``host``: uploaded if local, fetched from restic if restic:ID."""
    if source.startswith("restic:"):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = f"{BACKUP_DIR}/fetched-{stamp}"
        say(f"==> fetching {source} from the restic repository on {host}")
        fleet.shell(host, f"refractor-restic restore {shlex.quote(source[7:])} --host refractor "
                          f"--tag refractor --target {target} >&2 && "
                          f"chmod 0600 {target}/refractor.tar.gz")
        return f"{target}/refractor.tar.gz"
    local = Path(source)
    if local.is_file():
        remote = f"{BACKUP_DIR}/{local.name}"
        say(f"==> uploading {local} to {host}:{remote}")
        fleet.module(host, "ansible.builtin.copy",
                     f"src={local.resolve()} dest={remote} owner=refractor group=refractor mode=0600")
        return remote
    return source


def _as_app(command: str) -> str:
    return ("set -a; . /etc/refractor/refractor.env; set +a; "
            f"runuser -u refractor -- {command}")


def _confirm(env: str, hosts: list[str]) -> bool:
    try:
        tty = open("/dev/tty", "r+")  # noqa: SIM115 - closed below
    except OSError:
        say("restore: no terminal to confirm on; pass --yes to restore without asking")
        return False
    with tty:
        tty.write(f"This REPLACES all data of {env} with the backup (records, jobs, queue "
                  f"controls and co-signer data not in it are deleted) and stops the app on "
                  f"{', '.join(hosts)} meanwhile.\nType the environment name ({env}) to go on: ")
        tty.flush()
        return tty.readline().strip() == env


def _start(fleet: Fleet) -> None:
    results = fleet.shell("app", "systemctl start refractor.target", check=False)
    for host, result in results.items():
        if result.get("rc") != 0 or result.get("unreachable"):
            say(f"WARNING: could not start the instances on {host}: {_why(result)}")
    # Healthy again: every instance the monitoring settings name (INSTANCES on APP_ADDRESS), within
    # one deadline for all (a start on a busy host can take a while; a count of tries each bounded
    # by curl's own timeout gave a variable, shorter wait). /bin/sh: no $SECONDS.
    wait = (". /etc/refractor/monitor.conf; end=$(( $(date +%s) + 300 )); for port in $INSTANCES; do "
            "until curl -fsS -m 5 http://$APP_ADDRESS:$port/monitoring/health >/dev/null 2>&1; do "
            "[ $(date +%s) -lt $end ] || { echo \"instance $port is not healthy after 300 s\" >&2; "
            "exit 1; }; sleep 1; done; done")
    for host, result in fleet.shell("app", wait, check=False).items():
        if result.get("rc") != 0:
            say(f"WARNING: {host}: {_why(result)}")


# -- monitor ------------------------------------------------------------------------------------


def monitor(fleet: Fleet) -> int:
    results = fleet.shell("all", "systemd-run --quiet --wait --pipe --collect -p User=refractor "
                                 "-p StateDirectory=refractor-monitor /usr/local/sbin/refractor-monitor",
                          check=False)
    failed = False
    for host, result in results.items():
        status = "unreachable" if result.get("unreachable") else f"rc={result.get('rc')}"
        print(f"== {host} ({status})")
        print((result.get("stdout") or result.get("msg") or "").rstrip())
        failed = failed or result.get("rc") != 0 or bool(result.get("unreachable"))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fleet.py")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("backup")
    b.add_argument("env")
    b.add_argument("--fetch", type=Path)
    r = sub.add_parser("restore")
    r.add_argument("env")
    r.add_argument("backup")
    r.add_argument("--yes", action="store_true")
    m = sub.add_parser("monitor")
    m.add_argument("env")
    args = parser.parse_args(argv)
    try:
        fleet = Fleet(args.env)
        if args.command == "backup":
            return backup(fleet, args.fetch)
        if args.command == "restore":
            return restore(fleet, args.backup, args.yes)
        return monitor(fleet)
    except FleetError as exc:
        say(f"{args.command}: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
