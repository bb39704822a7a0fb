"""Release Refractor: `pyinfra provisioning/inventory.py provisioning/deploy.py`.

Expects a local build (provisioning/build.sh) in $REFRACTOR_BUILD_DIR: BUILD_ID and
refractor-<BUILD_ID>.tar (wheels + UI bundle). Ansible has already provisioned the hosts
(user, directories, secrets, /etc/refractor/refractor.env); see docs/production.md.
App hosts get a versioned virtualenv and rolling, health-gated restarts; Nginx hosts without
the app get the UI bundle only.
"""

import os
import sys
from io import StringIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pyinfra import host
from pyinfra.operations import files, systemd
from pyinfra.operations.util import any_changed
from refractor_deploy import render
from refractor_deploy.ops import release_active, release_installed, ui_active, ui_installed

HERE = Path(__file__).resolve().parent
build_dir = Path(os.environ.get("REFRACTOR_BUILD_DIR", HERE.parent / "build" / "release"))
build_id = (build_dir / "BUILD_ID").read_text().strip()
build_tar = build_dir / f"refractor-{build_id}.tar"
remote_tar = f"{render.BUILDS}/{build_id}.tar"
data = host.data
# Inventory data, not a fact: which part of the release this host gets is known before connecting.
is_app_host = "app" in (data.get("refractor_groups") or ["app"])
keep = render.setting(data, "refractor_keep_releases")

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
files.put(
    name=f"Build {build_id} is uploaded",
    src=str(build_tar),
    dest=remote_tar,
    user="root",
    group="root",
    mode="0644",
)

if is_app_host:
    ports = render.instances(data)
    config_text = render.config(data)
    release = render.release_id(build_id, config_text)
    unit_text = render.unit(data)
    release_installed(name=f"Release {release} is installed", release=release, build_tar=remote_tar)
    files.put(
        name=f"Release {release} has its config",
        src=StringIO(config_text),
        dest=f"{render.RELEASES}/{release}/config.json",
        user="root",
        group="refractor",
        mode="0640",
    )
    unit_op = files.put(
        name="Instance unit refractor@.service is installed",
        src=StringIO(unit_text),
        dest=render.UNIT_PATH,
        user="root",
        group="root",
        mode="0644",
    )
    target_op = files.put(
        name="Unit refractor.target is installed",
        src=StringIO(render.target()),
        dest=render.TARGET_PATH,
        user="root",
        group="root",
        mode="0644",
    )
    systemd.daemon_reload(name="Systemd has loaded the Refractor units", _if=any_changed(unit_op, target_op))
    # A link, not systemd.service(enabled=True): pyinfra's enabled-state fact only lists service units.
    files.link(
        name="Refractor starts at boot",
        path="/etc/systemd/system/multi-user.target.wants/refractor.target",
        target=render.TARGET_PATH,
    )
    release_active(
        name=f"Release {release} is active on ports {', '.join(map(str, ports))}",
        release=release,
        fingerprint=render.fingerprint(release, unit_text, ports),
        keep=keep,
        ports=ports,
        bind=render.setting(data, "refractor_bind_address"),
        health_timeout=render.setting(data, "refractor_health_timeout"),
        settle=render.setting(data, "refractor_rollout_settle"),
        # One host at a time: with one instance per host, parallel restarts would empty the upstream.
        _serial=True,
    )
else:
    ui_installed(name=f"UI of build {build_id} is installed", release=build_id, build_tar=remote_tar)
    ui_active(name=f"UI of build {build_id} is live", release=build_id, keep=keep)
