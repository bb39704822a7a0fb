#!/usr/bin/env bash
# Send every app host of ENV back to its last release that passed its health gate, one host at a
# time (a release that failed or was rolled back before is never chosen).
# Usage: scripts/rollback.sh ENV
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || usage
env=$1
[[ $env =~ ^[A-Za-z0-9_.-]+$ ]] && [ -f "inventories/$env/hosts.yml" ] || {
  echo "rollback: no inventory inventories/$env/hosts.yml" >&2; usage; }
bash scripts/bootstrap.sh dev
export PATH=$PWD/.venv/bin:$PATH
exec python provisioning/rollout.py rollback "$env"
