#!/usr/bin/env bash
# Show what `make deploy ENV=...` would change, changing nothing: ansible-playbook --check --diff,
# then pyinfra --dry. Builds the release locally (to know its id); hosts are only read.
# Usage: scripts/plan.sh ENV
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || usage
env=$1
[[ $env =~ ^[A-Za-z0-9_.-]+$ ]] && [ -f "inventories/$env/hosts.yml" ] || {
  echo "plan: no inventory inventories/$env/hosts.yml" >&2; usage; }
bash scripts/bootstrap.sh dev
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
python provisioning/rollout.py check "$env"
# Wheels for the hosts' architectures (refractor_target_arch), whatever this machine is.
REFRACTOR_TARGET_ARCHES=${REFRACTOR_TARGET_ARCHES:-$(python provisioning/rollout.py arches "$env")}
export REFRACTOR_TARGET_ARCHES
if [ -z "${REFRACTOR_BUILD_DIR:-}" ] || [ ! -f "$REFRACTOR_BUILD_DIR/BUILD_ID" ]; then
  export REFRACTOR_BUILD_DIR=$PWD/build/release
  bash provisioning/build.sh "$REFRACTOR_BUILD_DIR" >/dev/null
fi
echo "==> provisioning plan for $env (ansible-playbook --check --diff)"
ansible-playbook -i "inventories/$env/hosts.yml" playbooks/site.yml --check --diff
echo "==> release plan for $env, build $(cat "$REFRACTOR_BUILD_DIR/BUILD_ID") (pyinfra --dry)"
python provisioning/rollout.py plan "$env" "$REFRACTOR_BUILD_DIR"
REFRACTOR_ENV=$env pyinfra --dry provisioning/inventory.py provisioning/deploy.py </dev/null
