#!/usr/bin/env bash
# Ship a new release of the app to ENV safely: take a backup first, then release with pyinfra
# (health-gated rolling restart, automatic rollback). Use `make deploy` for system changes too.
# Usage: scripts/deploy-update.sh ENV
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || usage
env=$1
[ -f "inventories/$env/hosts.yml" ] || { echo "deploy-update: no inventory inventories/$env/hosts.yml" >&2; usage; }
echo "==> backing up $env before the release"
bash scripts/backup.sh "$env"
bash scripts/deploy.sh "$env" --release-only
