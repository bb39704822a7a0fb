"""Custom operations: each reads the host's state at execution time and yields nothing when
that state is already what the release wants, so a repeated deploy reports no change."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import QuoteString, StringCommand, operation
from pyinfra.facts.files import File, FileContents

from refractor_deploy.render import APP_ROOT, RELEASE_TOOL, RELEASES


@operation()
def release_installed(release: str, build_tar: str):
    """releases/<release> holds a virtualenv with the app and the UI bundle."""
    if host.get_fact(File, path=f"{RELEASES}/{release}/.installed"):
        host.noop(f"release {release} is already installed")
        return
    yield StringCommand(RELEASE_TOOL, "install", QuoteString(release), QuoteString(build_tar))


@operation()
def release_active(
    release: str, fingerprint: str, keep: int, ports: list[int], bind: str, health_timeout: int, settle: int
):
    """The release runs on every instance (rolling, health-gated, rolled back on failure)."""
    active = host.get_fact(FileContents, path=f"{APP_ROOT}/.active")
    if active and active[0].strip() == fingerprint:
        host.noop(f"release {release} is already active")
        return
    yield StringCommand(
        f"REFRACTOR_BIND={bind}",
        f"REFRACTOR_HEALTH_TIMEOUT={int(health_timeout)}",
        f"REFRACTOR_SETTLE={int(settle)}",
        RELEASE_TOOL,
        "activate",
        QuoteString(release),
        QuoteString(fingerprint),
        str(int(keep)),
        *[str(int(p)) for p in ports],
    )


@operation()
def ui_installed(release: str, build_tar: str):
    """releases/<release> holds the UI bundle (an Nginx host without app instances)."""
    if host.get_fact(File, path=f"{RELEASES}/{release}/.installed"):
        host.noop(f"UI of release {release} is already installed")
        return
    yield StringCommand(RELEASE_TOOL, "install-ui", QuoteString(release), QuoteString(build_tar))


@operation()
def ui_active(release: str, keep: int):
    """Nginx serves this release's UI bundle."""
    active = host.get_fact(FileContents, path=f"{APP_ROOT}/.active")
    if active and active[0].strip() == release:
        host.noop(f"UI of release {release} is already live")
        return
    yield StringCommand(RELEASE_TOOL, "switch-ui", QuoteString(release), str(int(keep)))
