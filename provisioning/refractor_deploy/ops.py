"""Custom operations: each reads the host's state at execution time and yields nothing when
that state is already what the release wants, so a repeated deploy reports no change."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation
from pyinfra.facts.files import File, FileContents
from pyinfra.facts.server import Command

from refractor_deploy.render import APP_ROOT, RELEASE_TOOL, RELEASES

# Unpacked wheels plus the virtualenv built from them take about three times the tar.
ROOM_FACTOR = 4


@operation()
def room_for_release(build_tar_size: int, needed: bool, reserve_mb: int):
    """Fail before anything is uploaded when the filesystem under /opt has no room for the release
    plus `reserve_mb` (refractor_free_space_reserve_mb: the logs and the database may share it)."""
    if not needed:
        host.noop("nothing to upload")
        return
    want = build_tar_size * ROOM_FACTOR + int(reserve_mb) * 2**20
    avail = host.get_fact(Command, command="df -PB1 /opt | awk 'NR == 2 {print $4}'")
    if not avail or not str(avail).strip().isdigit():
        raise OperationError(f"cannot read the free space under /opt: {avail!r}")
    free = int(str(avail).strip())
    if free < want:
        raise OperationError(
            f"not enough free space: {free // 2**20} MiB free under /opt, the release needs about "
            f"{want // 2**20} MiB (four times the build plus refractor_free_space_reserve_mb); nothing "
            f"was uploaded. Free some space (old builds in {APP_ROOT}/builds, logs) and deploy again"
        )
    host.noop(f"{free // 2**20} MiB free under /opt, enough for the release")
    yield from ()


@operation()
def release_installed(release: str, build_tar: str):
    """releases/<release> holds a virtualenv with the app and the UI bundle."""
    if host.get_fact(File, path=f"{RELEASES}/{release}/.installed"):
        host.noop(f"release {release} is already installed")
        return
    yield StringCommand(RELEASE_TOOL, "install", QuoteString(release), QuoteString(build_tar))


@operation()
def release_active(
    release: str,
    fingerprint: str,
    keep: int,
    ports: list[int],
    worker_ports: list[int],
    bind: str,
    health_timeout: int,
    settle: int,
    allow_breaking_migration: bool,
):
    """The release runs on every instance (rolling, health-gated, rolled back on failure). The
    activation itself runs as a transient systemd unit, so a dropped SSH session can't cut it short."""
    active = host.get_fact(FileContents, path=f"{APP_ROOT}/.active")
    if active and active[0].strip() == fingerprint:
        host.noop(f"release {release} is already active")
        return
    yield StringCommand(
        f"REFRACTOR_BIND={bind}",
        f"REFRACTOR_HEALTH_TIMEOUT={int(health_timeout)}",
        f"REFRACTOR_SETTLE={int(settle)}",
        # Commas, not spaces: a quoted word would no longer be an assignment to the shell.
        f"REFRACTOR_WORKER_PORTS={','.join(str(int(p)) for p in worker_ports)}",
        f"REFRACTOR_ALLOW_BREAKING_MIGRATION={1 if allow_breaking_migration else 0}",
        RELEASE_TOOL,
        "start",
        QuoteString(release),
        QuoteString(fingerprint),
        str(int(keep)),
        *[str(int(p)) for p in ports],
    )


@operation()
def release_rolled_back():
    """The host goes back to the newest other release that passed its health gate."""
    yield StringCommand(RELEASE_TOOL, "rollback")


@operation()
def ui_installed(release: str, build_tar: str):
    """releases/<release> holds the UI bundle (an Nginx host without app instances)."""
    if host.get_fact(File, path=f"{RELEASES}/{release}/.installed"):
        host.noop(f"UI of release {release} is already installed")
        return
    yield StringCommand(RELEASE_TOOL, "install-ui", QuoteString(release), QuoteString(build_tar))


@operation()
def ui_active(release: str, keep: int):
    """`current` points at the UI-only release."""
    active = host.get_fact(FileContents, path=f"{APP_ROOT}/.active")
    if active and active[0].strip() == release:
        host.noop(f"UI of release {release} is already live")
        return
    yield StringCommand(RELEASE_TOOL, "switch-ui", QuoteString(release), str(int(keep)))
