"""scripts/fleet.py reads Ansible's results as data: whatever output settings the operator's
environment has (extra callbacks, another stdout callback, verbosity), it still gets them. Real
`ansible` runs against this machine (connection local), no hosts needed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.tools import ROOT, VENV_BIN

sys.path.insert(0, str(ROOT / "scripts"))
import fleet

# What an operator's shell may well export: timing callbacks printing to stdout, another stdout
# callback, verbose output and colours.
NOISY = {
    "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks,ansible.posix.timer,profile_roles",
    "ANSIBLE_CALLBACK_WHITELIST": "ansible.posix.profile_tasks",
    "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal",
    "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
    "ANSIBLE_VERBOSITY": "2",
    "ANSIBLE_FORCE_COLOR": "1",
}


@pytest.fixture
def local_fleet(tmp_path: Path) -> fleet.Fleet:
    local = {"ansible_connection": "local", "ansible_become": False,
             "ansible_python_interpreter": str(VENV_BIN / "python")}  # fmt: skip
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {
        "app": {"hosts": {"app-1": local, "app-2": local}},
        "web": {"hosts": {"web-1": local}},
    }}}))  # fmt: skip
    return fleet.Fleet("local", inventory=inventory)


@pytest.mark.parametrize("noisy", [False, True], ids=["plain", "operator-output-settings"])
def test_results_are_read_whatever_the_operators_ansible_output_settings(
    local_fleet: fleet.Fleet, noisy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (NOISY if noisy else {}).items():
        monkeypatch.setenv(name, value)
    assert local_fleet.hosts("app") == ["app-1", "app-2"]
    assert local_fleet.hosts("all") == ["app-1", "app-2", "web-1"]
    results = local_fleet.shell("app", "echo out-$((40 + 2)); echo err >&2")
    assert {h: (r["rc"], r["stdout"], r["stderr"]) for h, r in results.items()} == {
        "app-1": (0, "out-42", "err"),
        "app-2": (0, "out-42", "err"),
    }
    failed = local_fleet.shell("web-1", "echo nope >&2; exit 3", check=False)
    assert failed["web-1"]["rc"] == 3 and failed["web-1"]["stderr"] == "nope"
    with pytest.raises(fleet.FleetError, match=r"web-1: rc=3: nope"):
        local_fleet.shell("web-1", "echo nope >&2; exit 3")


def test_the_report_is_found_after_lines_printed_before_it() -> None:
    report = '{"plays": [{"tasks": [{"hosts": {"h": {"rc": 0}}}]}], "stats": {}}'
    noise = "Using /etc/ansible.cfg as config file\n{not json\nPLAY RECAP ****\n"
    found = fleet._report(noise + report + "\nPlaybook run took 0 days\n")
    assert found["plays"][0]["tasks"][0]["hosts"] == {"h": {"rc": 0}}
    with pytest.raises(ValueError):
        fleet._report("ok: [h]\n{}\n")
