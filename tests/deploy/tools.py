"""Helpers shared by the deploy tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "provisioning"))


def run(
    args: list[str] | str,
    *,
    check: bool = True,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with the venv first on PATH; on failure show everything it printed."""
    full_env = {
        **os.environ,
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "PYINFRA_NO_COLOR": "1",
        "NO_COLOR": "1",
        **(env or {}),
    }
    try:
        proc = subprocess.run(
            args,
            shell=isinstance(args, str),
            cwd=cwd,
            env=full_env,
            text=True,
            capture_output=True,
            timeout=timeout,
            input=input,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        # Where it was stuck is in what it printed so far.
        out, err = (
            x.decode(errors="replace") if isinstance(x, bytes) else x or "" for x in (exc.stdout, exc.stderr)
        )
        raise AssertionError(
            f"command timed out after {timeout:.0f} s: {args}"
            f"\n--- stdout\n{out[-8000:]}\n--- stderr\n{err[-8000:]}"
        ) from None
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed (rc={proc.returncode}): {args}\n--- stdout\n{proc.stdout[-8000:]}"
            f"\n--- stderr\n{proc.stderr[-8000:]}"
        )
    return proc


def have(tool: str) -> bool:
    return shutil.which(tool) is not None or (VENV_BIN / tool).exists()
