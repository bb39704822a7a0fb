"""Static checks of the ops distribution, run on every `make test` (seconds, no hosts needed)."""

from __future__ import annotations

import pytest
import yaml

from tests.deploy.tools import ROOT, VENV_BIN, run

ENVS = ["staging", "production", "e2e"]
ROLES = ["base", "nginx", "tls", "mongodb", "logrotate", "backup", "monitoring"]
SCRIPTS = ["deploy.sh", "plan.sh", "backup.sh", "restore.sh", "monitor.sh", "deploy-update.sh"]


def test_yamllint_is_clean() -> None:
    run([str(VENV_BIN / "yamllint"), "-s", "roles", "playbooks", "inventories", "docker", "tests/deploy",
         ".ansible-lint", ".yamllint"])


def test_ansible_lint_is_clean() -> None:
    run([str(VENV_BIN / "ansible-lint"), "--offline", "-q", "roles", "playbooks"], timeout=300)


@pytest.mark.parametrize("env", ENVS)
def test_site_playbook_passes_syntax_check(env: str) -> None:
    run(["ansible-playbook", "-i", f"inventories/{env}/hosts.yml", "playbooks/site.yml", "--syntax-check"])


@pytest.mark.parametrize("role", ROLES)
def test_role_documents_every_variable(role: str) -> None:
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    readme = (ROOT / "roles" / role / "README.md").read_text()
    options = specs["argument_specs"]["main"]["options"]
    for name in defaults:
        assert name.startswith(f"{role}_"), f"{role}: variable {name} lacks the role prefix"
        assert f"`{name}`" in readme, f"roles/{role}/README.md does not document {name}"
        assert name in options, f"roles/{role}/meta/argument_specs.yml does not declare {name}"


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_prints_usage_on_bad_arguments(script: str) -> None:
    proc = run(["bash", f"scripts/{script}"], check=False)
    assert proc.returncode == 2, proc.stderr
    assert "usage" in proc.stderr.lower()
