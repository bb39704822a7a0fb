#!/usr/bin/env bash
# Run the monitoring checks now on every host of ENV (what the refractor-monitor timer runs) and show
# their results; alerts and dead-man pings go out as configured. Exits non-zero if any check fails.
# Usage: scripts/monitor.sh ENV
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || usage
[ -f "inventories/$1/hosts.yml" ] || { echo "monitor: no inventory inventories/$1/hosts.yml" >&2; usage; }
exec .venv/bin/python scripts/fleet.py monitor "$1"
