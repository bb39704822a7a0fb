"""Fixtures for the deploy end-to-end tests (marker e2e). Module-scoped: one environment at a time."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from tests.deploy.e2e_stack import LAN_HOST_SIDE, Stack, unavailable_reason


def _environment(
    tmp_path_factory: pytest.TempPathFactory, extra_tools: tuple[str, ...] = (), **kwargs: object
) -> Iterator[Stack]:
    reason = unavailable_reason(extra_tools)
    if reason:
        banner = "!" * 78
        print(f"\n{banner}\nDEPLOY E2E TESTS SKIPPED: {reason}\n{banner}", file=sys.__stderr__)
        pytest.skip(f"DEPLOY E2E SKIPPED: {reason}")
    # Both stacks deploy the same first release: built once per session (provisioning/build.sh
    # reuses a finished build of the same inputs in its output directory).
    release = tmp_path_factory.getbasetemp() / "e2e-release"
    s = Stack(tmp_path_factory.mktemp("e2e"), build_dir=release, **kwargs)  # type: ignore[arg-type]
    try:
        s.start()
        yield s
    finally:
        s.stop()


# What the roles install (roles/*/tasks: apt), already in the hosts' images where installing it
# isn't what a test looks at (a wrong package name in a role still fails: it installs that name).
_QUIET = (
    "python3", "python3-apt", "ca-certificates", "curl", "openssl", "sudo", "ufw", "fail2ban",
    "python3-systemd", "unattended-upgrades", "apt-listchanges", "systemd-timesyncd", "jq", "procps",
)  # fmt: skip
# The fresh-VM host keeps empty package lists and has to install python3-venv (which the lists must
# be refreshed for, issue 9 point 5), Nginx and logrotate (whose package files must not be written
# before the package: no *.dpkg-dist) itself.
FRESH_HOST_PACKAGES = (*_QUIET, "restic", "openssh-client")
# For hosts where no installation is under test: e2e-multi's (the single-host stack installs them).
_EVERY_HOST = (*_QUIET, "python3-venv", "logrotate", "prometheus-node-exporter")
WEB_PACKAGES = (*_EVERY_HOST, "nginx", "prometheus", "prometheus-alertmanager")
APP_PACKAGES = (*_EVERY_HOST, "restic", "openssh-client")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """inventories/e2e: one host with Nginx, two instances and SQLite, bootstrapped from root only."""
    yield from _environment(tmp_path_factory, bootstrap=True, preinstalled={31: FRESH_HOST_PACKAGES})


@pytest.fixture(scope="module")
def multi_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """inventories/e2e-multi: an Nginx host and two app hosts sharing an external MongoDB, in the
    split process layout; the second app host is reachable only through the Nginx host, which
    boots as a fresh VM does, without connection tracking until a rule needs it: the firewall
    role's first ufw enable there must not drop the SSH hop to that app host (issue 9)."""
    yield from _environment(
        tmp_path_factory,
        extra_tools=("nft",),
        env="e2e-multi",
        hosts=(32, 33, 34),
        service_address=LAN_HOST_SIDE,
        mongo=True,
        no_direct_ssh=(34,),
        conntrack_on_demand=(32,),
        preinstalled={32: WEB_PACKAGES, 33: APP_PACKAGES, 34: APP_PACKAGES},
    )
