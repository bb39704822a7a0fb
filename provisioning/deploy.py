"""Release Refractor: `pyinfra provisioning/inventory.py provisioning/deploy.py`.

Run by provisioning/rollout.py one host at a time (scripts/deploy.sh); `make plan` runs it with
--dry on every host. Expects a local build (provisioning/build.sh) in $REFRACTOR_BUILD_DIR: BUILD_ID
and refractor-<BUILD_ID>.tar (wheels + hashed lock file + UI bundle). Ansible has already
provisioned the hosts (user, directories, secrets, /etc/refractor/refractor.env); see
docs/production.md. App hosts get a versioned virtualenv with its config and systemd units and
rolling, health-gated restarts; Nginx hosts without the app get the UI bundle only.
"""

import os
import sys
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import files
from refractor_deploy import render
from refractor_deploy.ops import (
    release_active,
    release_installed,
    room_for_release,
    ui_active,
    ui_installed,
)

HERE = Path(__file__).resolve().parent
build_dir = Path(os.environ.get("REFRACTOR_BUILD_DIR", HERE.parent / "build" / "release"))
build_id = (build_dir / "BUILD_ID").read_text().strip()
build_tar = build_dir / f"refractor-{build_id}.tar"
remote_tar = f"{render.BUILDS}/{build_id}.tar"
data = host.data
# Inventory data, not a fact: which part of the release this host gets is known before connecting.
is_app_host = "app" in (data.get("refractor_groups") or ["app"])
keep = render.setting(data, "refractor_keep_releases")
release = build_id
if is_app_host:
    config_text = render.config(data)
    unit_files = render.units(data)
    release = render.release_id(build_id, config_text, render.units_text(unit_files))

needs_upload = not host.get_fact(File, path=f"{render.RELEASES}/{release}/.installed") and not host.get_fact(
    File, path=remote_tar
)
room_for_release(
    name="Free disk space for the build is checked",
    build_tar_size=build_tar.stat().st_size,
    needed=needs_upload,
    reserve_mb=render.setting(data, "refractor_free_space_reserve_mb"),
)
files.directory(
    name="Release directories exist", path=render.RELEASES, user="root", group="root", mode="0755"
)
files.directory(name="Build cache directory exists", path=render.BUILDS, mode="0755")
files.directory(name="Release tool directory exists", path=f"{render.APP_ROOT}/bin", mode="0755")
files.put(
    name="Release tool is installed",
    src=str(HERE / "files" / "refractor-release.sh"),
    dest=render.RELEASE_TOOL,
    user="root",
    group="root",
    mode="0755",
)
if needs_upload:
    files.put(
        name="Build is uploaded",
        src=str(build_tar),
        dest=remote_tar,
        user="root",
        group="root",
        mode="0644",
    )

# Operation names carry no release id: each host has its own (make plan/deploy print them per host).
if is_app_host:
    ports = render.instances(data)
    worker_ports = render.worker_instances(data)
    release_installed(name="Release is installed", release=release, build_tar=remote_tar)
    files.put(
        name="Release has its config",
        src=StringIO(config_text),
        dest=f"{render.RELEASES}/{release}/config.json",
        user="root",
        group="refractor",
        mode="0640",
    )
    files.directory(
        name="Release has a unit directory", path=f"{render.RELEASES}/{release}/units", mode="0755"
    )
    for unit_name, unit_text in sorted(unit_files.items()):
        files.put(
            name=f"Release carries unit {unit_name}",
            src=StringIO(unit_text),
            dest=f"{render.RELEASES}/{release}/units/{unit_name}",
            user="root",
            group="root",
            mode="0644",
        )
    # A link, not systemd.service(enabled=True): pyinfra's enabled-state fact only lists service units.
    files.link(
        name="Refractor starts at boot",
        path="/etc/systemd/system/multi-user.target.wants/refractor.target",
        target=render.TARGET_PATH,
    )
    release_active(
        name="Release is active on every instance",
        release=release,
        fingerprint=render.fingerprint(release, ports, worker_ports),
        keep=keep,
        ports=ports,
        worker_ports=worker_ports,
        bind=render.setting(data, "refractor_bind_address"),
        health_timeout=render.setting(data, "refractor_health_timeout"),
        settle=render.setting(data, "refractor_rollout_settle"),
        allow_breaking_migration=os.environ.get("REFRACTOR_ALLOW_BREAKING_MIGRATION") == "1",
    )
else:
    ui_installed(name="UI bundle is installed", release=build_id, build_tar=remote_tar)
    ui_active(name="UI bundle is live", release=build_id, keep=keep)
