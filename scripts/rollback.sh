#!/usr/bin/env bash
# Send every app host of ENV back to its last release that passed its health gate, one host at a
# time (a release that failed or was rolled back before is never chosen).
# Usage: scripts/rollback.sh ENV
set -euo pipefail
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || usage
. "$(dirname "$0")/inventory-env.sh" rollback "$1"
exec python provisioning/rollout.py rollback "$env"
