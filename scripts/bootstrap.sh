#!/usr/bin/env bash
# Create .venv and install the locked dependencies. Idempotent: re-installs only when a lock file changed.
# Usage: scripts/bootstrap.sh [runtime|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-dev}
case "$kind" in runtime|dev) ;; *) echo "usage: $0 [runtime|dev]" >&2; exit 2 ;; esac

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Python 3.11 or newer is required (found: $("$PY" --version 2>&1))" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv

locks=(requirements.lock)
[ "$kind" = dev ] && locks+=(requirements-dev.lock)
stamp=.venv/.installed-$kind
want=$(cat "${locks[@]}" pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "Installing $kind dependencies into .venv ..."
.venv/bin/python -m pip install -q --upgrade pip
# The runtime lock carries hashes: pip checks every file against them.
.venv/bin/python -m pip install -q --require-hashes -r requirements.lock
[ "$kind" = runtime ] || .venv/bin/python -m pip install -q -r requirements-dev.lock
.venv/bin/python -m pip install -q --no-deps -e .
echo "$want" > "$stamp"
