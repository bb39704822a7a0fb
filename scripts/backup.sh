#!/usr/bin/env bash
# Take a backup now on the first app host of ENV (the refractor-backup.service unit the timer runs:
# local archive, then the encrypted off-host restic copy) and print its path on that host; with
# --fetch DIR also copy it here (mode 0600).
# Usage: scripts/backup.sh ENV [--fetch DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || { [ $# -eq 3 ] && [ "$2" = --fetch ]; } || usage
[ -f "inventories/$1/hosts.yml" ] || { echo "backup: no inventory inventories/$1/hosts.yml" >&2; usage; }
if [ $# -eq 3 ]; then exec .venv/bin/python scripts/fleet.py backup "$1" --fetch "$3"; fi
exec .venv/bin/python scripts/fleet.py backup "$1"
