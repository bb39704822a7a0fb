"""Add the sha256 of every file PyPI publishes for each pinned requirement to a lock file, so
`pip install --require-hashes` (the release on the hosts, scripts/bootstrap.sh) accepts exactly
those files, whatever the platform (Debian x86_64/arm64 targets, the operator's laptop).

Usage: .venv/bin/python scripts/lock-hashes.py requirements.lock   (rewrites it in place)
Run it after changing a pin; it reads PyPI's simple index (JSON form) of each pinned project.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.request
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name_version(filename: str) -> tuple[str, str]:
    if filename.endswith(".whl"):
        dist, version = filename[:-4].split("-")[:2]
        return _norm(dist), version
    for ext in (".tar.gz", ".zip", ".tar.bz2"):
        if filename.endswith(ext):
            dist, _, version = filename[: -len(ext)].rpartition("-")
            return _norm(dist), version
    return "", ""


def hashes(name: str, version: str) -> list[str]:
    request = urllib.request.Request(
        f"https://pypi.org/simple/{_norm(name)}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        files = json.load(resp)["files"]
    digests = sorted(
        {f["hashes"]["sha256"] for f in files if _name_version(f["filename"]) == (_norm(name), version)}
    )
    if not digests:
        raise SystemExit(f"{name}=={version}: PyPI lists no files")
    return digests


def main(path: str) -> None:
    lock = Path(path)
    out: list[str] = []
    for line in lock.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("--hash=") or (
            out and out[-1].endswith("\\") and stripped.startswith("--hash")
        ):
            continue
        m = PIN.match(stripped)
        if not m:
            out.append(line)
            continue
        pin = f"{m.group(1)}=={m.group(2)}"
        digests = hashes(m.group(1), m.group(2))
        out.append(pin + " \\")
        out.extend(
            f"    --hash=sha256:{d}" + (" \\" if i < len(digests) - 1 else "") for i, d in enumerate(digests)
        )
    lock.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(sys.argv[1])
