#!/usr/bin/env bash
# Show what `make deploy ENV=...` would change, changing nothing: ansible-playbook --check --diff,
# then pyinfra --dry. Builds the release locally (to know its id); hosts are only read.
# Usage: scripts/plan.sh ENV
set -euo pipefail
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || usage
. "$(dirname "$0")/inventory-env.sh" plan "$1"
check_inventory
target_arches
prebuilt || build_release
echo "==> provisioning plan for $env (ansible-playbook --check --diff)"
ansible-playbook -i "inventories/$env/hosts.yml" playbooks/site.yml --check --diff
echo "==> release plan for $env, build $(cat "$REFRACTOR_BUILD_DIR/BUILD_ID") (pyinfra --dry)"
python provisioning/rollout.py plan "$env" "$REFRACTOR_BUILD_DIR"
REFRACTOR_ENV=$env pyinfra --dry provisioning/inventory.py provisioning/deploy.py </dev/null
