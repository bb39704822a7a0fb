"""Helpers shared by the deploy tests."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
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
    started = time.monotonic()
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
    _record_timing(args, time.monotonic() - started, proc)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed (rc={proc.returncode}): {args}\n--- stdout\n{proc.stdout[-8000:]}"
            f"\n--- stderr\n{proc.stderr[-8000:]}"
        )
    return proc


# ansible.posix.profile_tasks' summary lines: "role : task ------- 12.34s".
_PROFILE_LINE = re.compile(r"^.{1,160} -{3,} (\d+\.\d+)s$", re.M)


def _record_timing(args: list[str] | str, seconds: float, proc: subprocess.CompletedProcess[str]) -> None:
    """With REFRACTOR_TEST_TIMINGS=FILE, each command's wall time (and Ansible's slowest tasks, when
    ANSIBLE_CALLBACKS_ENABLED has ansible.posix.profile_tasks) is appended to FILE: where e2e time goes."""
    path = os.environ.get("REFRACTOR_TEST_TIMINGS")
    if not path:
        return
    command = args if isinstance(args, str) else " ".join(args)
    slow = [m.group(0) for m in _PROFILE_LINE.finditer(proc.stdout) if float(m.group(1)) >= 2]
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{seconds:7.1f}s rc={proc.returncode} {command[:200]}\n")
        out.writelines(f"          {line}\n" for line in slow)


def have(tool: str) -> bool:
    return shutil.which(tool) is not None or (VENV_BIN / tool).exists()
