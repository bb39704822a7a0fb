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
UNIT_PATH = "/etc/systemd/system/refractor@.service"
TARGET_PATH = "/etc/systemd/system/refractor.target"

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
    # Must exceed nginx_upstream_fail_timeout (see refractor-release.sh).
    "refractor_rollout_settle": 6,
    "refractor_env": "production",
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


def release_id(build_id: str, config_text: str) -> str:
    """One release per (code, config): a config change is rolled out, and rolled back, like code."""
    return f"{build_id}-c{hashlib.sha256(config_text.encode()).hexdigest()[:8]}"


def unit(data: Any) -> str:
    bind = setting(data, "refractor_bind_address")
    return f"""\
# Managed by pyinfra (provisioning/). One instance per port: refractor@8001.service, ...
[Unit]
Description=Refractor instance on port %i
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
ExecStart={CURRENT}/bin/refractor serve --host {bind} --port %i
# SIGTERM makes the server stop accepting, finish in-flight requests and exit.
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

[Install]
WantedBy=refractor.target
"""


def target() -> str:
    return """\
# Managed by pyinfra (provisioning/). Start/stop every instance: systemctl start|stop refractor.target
[Unit]
Description=All Refractor instances on this host

[Install]
WantedBy=multi-user.target
"""


def fingerprint(release: str, unit_text: str, ports: list[int]) -> str:
    """What the host runs once a release is active; a new fingerprint means a rollout is due."""
    digest = hashlib.sha256((unit_text + " ".join(map(str, ports))).encode()).hexdigest()[:12]
    return f"{release} {digest}"
