#!/usr/bin/env bash
# Restore a backup into ENV (a point in time: whatever is not in the backup is deleted). Checks the
# backup's manifest first, asks for confirmation (unless --yes), stops every app instance on every
# app host, keeps a safety backup of the data it replaces, restores, and starts the instances again
# (also when the restore fails).
# BACKUP: a path on the first app host, a local file (uploaded first), or restic:latest /
# restic:SNAPSHOT for an off-host backup.
# Usage: scripts/restore.sh ENV BACKUP [--yes]
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 2 ] || { [ $# -eq 3 ] && [ "$3" = --yes ]; } || usage
[ -f "inventories/$1/hosts.yml" ] || { echo "restore: no inventory inventories/$1/hosts.yml" >&2; usage; }
exec .venv/bin/python scripts/fleet.py restore "$@"
