"""Pure functions that turn host data into the files a release puts on the host.

Kept free of pyinfra so the static tests can render and verify exactly what a deploy writes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

APP_ROOT = "/opt/refractor"
RELEASES = f"{APP_ROOT}/releases"
BUILDS = f"{APP_ROOT}/builds"
CURRENT = f"{APP_ROOT}/current"
RELEASE_TOOL = f"{APP_ROOT}/bin/refractor-release"
UNIT_DIR = "/etc/systemd/system"
TARGET_PATH = f"{UNIT_DIR}/refractor.target"
LAYOUTS = ("combined", "split")

DEFAULTS: dict[str, Any] = {
    "refractor_instances": [8001],
    "refractor_bind_address": "127.0.0.1",
    "refractor_storage": "sqlite",
    "refractor_sqlite_path": "/var/lib/refractor/refractor.db",
    "refractor_log_file": "/var/log/refractor/refractor.log",
    "refractor_networks": None,
    "refractor_config": {},
    "refractor_keep_releases": 5,
    "refractor_memory_max": "1G",
    "refractor_health_timeout": 60,
    # MiB that must stay free under /opt beyond what the release takes (checked before the upload).
    "refractor_free_space_reserve_mb": 256,
    # Must exceed nginx_upstream_fail_timeout (see refractor-release.sh).
    "refractor_rollout_settle": 6,
    "refractor_env": "production",
    # combined: `refractor serve` runs the API and the job workers in one process per instance.
    # split: API instances run `serve --no-worker`; `refractor worker` instances run the jobs.
    "refractor_process_layout": "combined",
    # split layout: one worker instance per port (its health check on 127.0.0.1:<port>).
    "refractor_worker_instances": [3001],
    # Extra "Key=value" lines for the [Service] section of the instances' units.
    "refractor_service_extra": [],
}


def setting(data: Any, key: str) -> Any:
    value = data.get(key) if isinstance(data, dict) else getattr(data, key, None)
    return DEFAULTS[key] if value is None else value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def instances(data: Any) -> list[int]:
    ports = [int(p) for p in setting(data, "refractor_instances")]
    if not ports or len(set(ports)) != len(ports):
        raise ValueError(f"refractor_instances must be distinct ports, got {ports}")
    return ports


def layout(data: Any) -> str:
    value = str(setting(data, "refractor_process_layout"))
    if value not in LAYOUTS:
        raise ValueError(f"refractor_process_layout must be one of {', '.join(LAYOUTS)}, got {value!r}")
    return value


def worker_instances(data: Any) -> list[int]:
    """Health ports of the `refractor worker` instances (none in the combined layout)."""
    if layout(data) != "split":
        return []
    ports = [int(p) for p in setting(data, "refractor_worker_instances")]
    if not ports or len(set(ports)) != len(ports) or set(ports) & set(instances(data)):
        raise ValueError(
            f"refractor_worker_instances must be distinct ports, none of them an API port, got {ports}"
        )
    return ports


def config(data: Any) -> str:
    """The app's JSON config. Secrets are not in it: they come from REFRACTOR_*_FILE."""
    ports = instances(data)
    cfg: dict[str, Any] = {
        "host": setting(data, "refractor_bind_address"),
        "port": ports[0],
        "trustProxy": True,
        "storage": setting(data, "refractor_storage"),
        "logFile": setting(data, "refractor_log_file"),
        "ui": {"dir": f"{CURRENT}/ui"},
        "sentry": {"environment": setting(data, "refractor_env")},
    }
    if cfg["storage"] == "sqlite":
        cfg["db"] = setting(data, "refractor_sqlite_path")
    networks = setting(data, "refractor_networks")
    if networks:
        cfg["networks"] = networks
    cfg = _merge(cfg, setting(data, "refractor_config"))
    return json.dumps(cfg, indent=2, sort_keys=True) + "\n"


def release_id(build_id: str, config_text: str, units_text: str = "") -> str:
    """One release per (code, config, units): a config or unit change is rolled out, and rolled
    back, like code."""
    digest = hashlib.sha256((config_text + units_text).encode()).hexdigest()[:8]
    return f"{build_id}-c{digest}"


def service_extra(data: Any) -> str:
    """refractor_service_extra as unit lines; one directive per item, nothing that could open a section."""
    items = setting(data, "refractor_service_extra")
    if not isinstance(items, list):
        raise ValueError(f"refractor_service_extra must be a list of 'Key=value' lines, got {items!r}")
    for item in items:
        key = str(item).split("=", 1)[0]
        if not isinstance(item, str) or "=" not in item or "\n" in item or not key.isalnum():
            raise ValueError(f"refractor_service_extra: {item!r} is not one 'Key=value' unit line")
    return "".join(f"{item}\n" for item in items)


def units(data: Any) -> dict[str, str]:
    """The systemd units a release carries; the release tool installs them when it activates it."""
    out = {"refractor@.service": unit(data), "refractor.target": target()}
    if layout(data) == "split":
        out["refractor-worker@.service"] = worker_unit(data)
    return out


def units_text(unit_files: dict[str, str]) -> str:
    return "".join(f"{name}\n{text}" for name, text in sorted(unit_files.items()))


def _service(data: Any, description: str, exec_start: str, stop_comment: str) -> str:
    return f"""\
[Unit]
Description={description}
After=network-online.target
Wants=network-online.target
PartOf=refractor.target
StartLimitIntervalSec=300
StartLimitBurst=10

[Service]
Type=exec
User=refractor
Group=refractor
EnvironmentFile=/etc/refractor/refractor.env
Environment=REFRACTOR_CONFIG={CURRENT}/config.json
ExecStart={exec_start}
# {stop_comment}
KillSignal=SIGTERM
TimeoutStopSec=30
Restart=always
RestartSec=2
MemoryMax={setting(data, "refractor_memory_max")}
TasksMax=512
LimitNOFILE=65536
UMask=0027
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths=/var/lib/refractor /var/log/refractor
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK
LockPersonality=yes
CapabilityBoundingSet=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
{service_extra(data)}
[Install]
WantedBy=refractor.target
"""


def unit(data: Any) -> str:
    bind = setting(data, "refractor_bind_address")
    no_worker = " --no-worker" if layout(data) == "split" else ""
    return "# Managed by pyinfra (provisioning/), part of each release. One instance per port.\n" + _service(
        data,
        "Refractor instance on port %i",
        f"{CURRENT}/bin/refractor serve --host {bind} --port %i{no_worker}",
        "SIGTERM makes the server stop accepting, finish in-flight requests and exit.",
    )


def worker_unit(data: Any) -> str:
    return (
        "# Managed by pyinfra (provisioning/), part of each release. Split layout: jobs only.\n"
        + _service(
            data,
            "Refractor job worker, health check on 127.0.0.1:%i",
            f"{CURRENT}/bin/refractor worker --health-port %i",
            "SIGTERM makes the worker stop claiming jobs, finish or hand back the leased ones and exit.",
        )
    )


def target() -> str:
    return """\
# Managed by pyinfra (provisioning/), part of each release.
# Start/stop every instance: systemctl start|stop refractor.target
[Unit]
Description=All Refractor instances on this host

[Install]
WantedBy=multi-user.target
"""


def fingerprint(release: str, ports: list[int], worker_ports: list[int] | None = None) -> str:
    """What the host runs once a release is active; a new fingerprint means a rollout is due."""
    layout_text = " ".join(map(str, ports)) + " | " + " ".join(map(str, worker_ports or []))
    digest = hashlib.sha256(layout_text.encode()).hexdigest()[:12]
    return f"{release} {digest}"
