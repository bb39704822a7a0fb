"""Release one environment host by host, stopping at the first failure.

    python provisioning/rollout.py check ENV              refuse inventories that can't work
    python provisioning/rollout.py plan ENV BUILD_DIR     print each host's release id
    python provisioning/rollout.py deploy ENV BUILD_DIR   the rollout (scripts/deploy.sh)
    python provisioning/rollout.py rollback ENV           every app host back to its last good release
    python provisioning/rollout.py arches ENV             the CPU architectures of the app hosts

pyinfra's own `_serial` runs every host and only collects the failures, so one bad host would leave
the fleet on mixed releases. Here each app host is released by its own pyinfra run; the first
failure stops the rollout, the hosts this rollout already switched go back to their previous
release, and the remaining hosts are never touched. Nginx-only hosts switch their UI bundle last,
once every app host is healthy on the new release. A summary says which host is on which release.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from refractor_deploy import render
from refractor_deploy.inventory import InventoryError, load

HERE = Path(__file__).resolve().parent
PYINFRA = [os.environ.get("REFRACTOR_PYINFRA", "pyinfra"), "-y"]
_ROLLED_BACK = re.compile(r"release (\S+) FAILED and was rolled back(?: to (\S+))?")
_CURRENT = re.compile(r"^\s*\[(?P<host>[^\]]+)\]\s+/opt/refractor/releases/(?P<release>[^\s/]+)/?\s*$", re.M)


class RolloutRefused(Exception):
    pass


def check(inv: dict[str, Any]) -> None:
    """Layouts that deploy would accept and then run wrongly are refused before anything runs."""
    app_hosts = inv["groups"].get("app") or []
    if not app_hosts:
        raise RolloutRefused("the inventory has no hosts in group 'app'")
    problems = []
    on_sqlite = [h for h in app_hosts if render.setting(inv["hosts"][h], "refractor_storage") == "sqlite"]
    if on_sqlite and len(app_hosts) > 1:
        problems.append(
            f"refractor_storage is sqlite on {', '.join(on_sqlite)} "
            f"while group 'app' has {len(app_hosts)} hosts: "
            "SQLite is a file on one host, so each app host would serve its own, different data. "
            "Use refractor_storage: mongodb for several app hosts (docs/production.md), or keep one app host."
        )
    try:
        target_arches(inv)
    except RolloutRefused as exc:
        problems.append(str(exc))
    for host in app_hosts:
        try:
            render.instances(inv["hosts"][host])
            render.worker_instances(inv["hosts"][host])
            render.service_extra(inv["hosts"][host])
        except ValueError as exc:
            problems.append(f"{host}: {exc}")
    if problems:
        raise RolloutRefused("\n".join(problems))


def target_arches(inv: dict[str, Any]) -> list[str]:
    """What the build must carry wheels for: `refractor_target_arch` of the app hosts."""
    arches = {str(inv["hosts"][h].get("refractor_target_arch") or "x86_64") for h in inv["groups"]["app"]}
    unknown = arches - {"x86_64", "aarch64"}
    if unknown:
        raise RolloutRefused(f"refractor_target_arch must be x86_64 or aarch64, got {sorted(unknown)}")
    return sorted(arches)


def releases(inv: dict[str, Any], build_id: str) -> dict[str, str]:
    """Each host's release id: app hosts add their config and units to the build id."""
    out = {}
    for host in hosts_in_order(inv):
        data = inv["hosts"][host]
        if host in inv["groups"].get("app", []):
            out[host] = render.release_id(
                build_id, render.config(data), render.units_text(render.units(data))
            )
        else:
            out[host] = build_id
    return out


def hosts_in_order(inv: dict[str, Any]) -> list[str]:
    app = list(inv["groups"].get("app") or [])
    return app + [h for h in inv["groups"].get("web") or [] if h not in app]


def print_plan(inv: dict[str, Any], build_id: str) -> None:
    ids = releases(inv, build_id)
    print(f"    {'host':<20} {'gets':<5} {'layout':<9} release")
    for host in hosts_in_order(inv):
        is_app = host in inv["groups"].get("app", [])
        layout = render.layout(inv["hosts"][host]) if is_app else "-"
        print(f"    {host:<20} {'app' if is_app else 'UI':<5} {layout:<9} {ids[host]}")


@dataclass
class Outcome:
    state: str = "not attempted"
    detail: str = ""
    output: list[str] = field(default_factory=list)


def _pyinfra(env: str, hosts: list[str], deploy: list[str]) -> tuple[int, str]:
    limits = [arg for h in hosts for arg in ("--limit", h)]
    command = [*PYINFRA, *limits, str(HERE / "inventory.py"), *deploy]
    proc = subprocess.Popen(
        command,
        env={**os.environ, "REFRACTOR_ENV": env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    return proc.wait(), "".join(lines)


def current_releases(env: str, hosts: list[str]) -> dict[str, str]:
    _, out = _pyinfra(env, hosts, ["exec", "--", "readlink", "/opt/refractor/current", "||", "true"])
    return {m["host"]: m["release"] for m in _CURRENT.finditer(out)}


def deploy(env: str, inv: dict[str, Any], build_id: str) -> int:
    ids = releases(inv, build_id)
    app = list(inv["groups"]["app"])
    ui_only = [h for h in hosts_in_order(inv) if h not in app]
    outcomes = {h: Outcome() for h in hosts_in_order(inv)}
    released: list[str] = []
    stopped_at = None
    for host in app:
        print(f"==> releasing {ids[host]} to {host}", flush=True)
        rc, out = _pyinfra(env, [host], [str(HERE / "deploy.py")])
        if rc == 0:
            outcomes[host] = Outcome("released", ids[host])
            released.append(host)
            continue
        m = _ROLLED_BACK.search(out)
        detail = f"rolled back to {m.group(2)}" if m and m.group(2) else "see the output above"
        outcomes[host] = Outcome("FAILED", detail)
        stopped_at = host
        break
    if stopped_at is None:
        if ui_only:
            print(f"==> every app host is healthy: switching the UI on {', '.join(ui_only)}", flush=True)
            rc, _ = _pyinfra(env, ui_only, [str(HERE / "deploy.py")])
            for host in ui_only:
                outcomes[host] = Outcome("released" if rc == 0 else "FAILED", ids[host] if rc == 0 else "")
            if rc != 0:
                stopped_at = ui_only[0]
    else:
        # The fleet must not stay half on the new release: undo the hosts this rollout switched.
        for host in reversed(released):
            print(
                f"==> {host}: back to its previous release (the rollout stopped at {stopped_at})", flush=True
            )
            rc, _ = _pyinfra(env, [host], [str(HERE / "rollback.py")])
            outcomes[host] = Outcome("rolled back" if rc == 0 else "ROLLBACK FAILED", "")
    if stopped_at is not None:
        now = current_releases(env, hosts_in_order(inv))
        for host, outcome in outcomes.items():
            if outcome.state != "released":
                outcome.detail = f"now on {now.get(host, 'no release')}"
    print(f"\n==> rollout summary for {env} (build {build_id})")
    for host in hosts_in_order(inv):
        o = outcomes[host]
        print(f"    {host:<20} {o.state:<16} {o.detail}")
    if stopped_at is not None:
        print(
            f"\nThe rollout stopped at {stopped_at}; the hosts are on the releases listed above.\n"
            "Fix the cause (the failing host's output is above), then run the deploy again. "
            'docs/production.md, "When a rollout stopped", has the details.'
        )
        return 1
    return 0


def rollback(env: str, inv: dict[str, Any]) -> int:
    for host in inv["groups"]["app"]:
        print(f"==> {host}: back to its last release that passed its health gate", flush=True)
        rc, _ = _pyinfra(env, [host], [str(HERE / "rollback.py")])
        if rc != 0:
            print(f"rollback stopped at {host}; the hosts after it were not touched")
            return 1
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("check", "plan", "deploy", "rollback", "arches"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    command, env = argv[0], argv[1]
    try:
        inv = load(env)
        check(inv)
    except (InventoryError, RolloutRefused) as exc:
        print(f"refused: inventories/{env}: {exc}", file=sys.stderr)
        return 1
    if command == "check":
        return 0
    if command == "arches":
        print(" ".join(target_arches(inv)))
        return 0
    if command == "rollback":
        return rollback(env, inv)
    build_id = (Path(argv[2]) / "BUILD_ID").read_text().strip()
    if command == "plan":
        print_plan(inv, build_id)
        return 0
    return deploy(env, inv, build_id)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
