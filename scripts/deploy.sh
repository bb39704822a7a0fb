#!/usr/bin/env bash
# Provision (Ansible, playbooks/site.yml) then release (pyinfra, provisioning/deploy.py) one environment.
# Usage: scripts/deploy.sh ENV [--release-only]
#   ENV is a directory under inventories/ (staging, production, e2e, ...).
#   Secrets: ANSIBLE_VAULT_PASSWORD_FILE for an encrypted group_vars/all/vault.yml, or the environment
#   variables the inventory looks up. REFRACTOR_BUILD_DIR=DIR releases a prebuilt build instead.
set -euo pipefail
usage() { sed -n '3,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
mode=${2:-all}
case "$mode" in all|--release-only) ;; *) usage ;; esac
. "$(dirname "$0")/inventory-env.sh" deploy "$1"
check_inventory
target_arches

# Build first: nothing on the hosts changes if the build fails.
if prebuilt; then
  echo "==> using prebuilt $(cat "$REFRACTOR_BUILD_DIR/BUILD_ID") from $REFRACTOR_BUILD_DIR"
else
  echo "==> building release artifacts"
  build_release
  echo "    build $(cat "$REFRACTOR_BUILD_DIR/BUILD_ID")"
fi
python provisioning/rollout.py plan "$env" "$REFRACTOR_BUILD_DIR"

if [ "$mode" = all ]; then
  echo "==> provisioning $env (ansible-playbook playbooks/site.yml)"
  ansible-playbook -i "inventories/$env/hosts.yml" playbooks/site.yml
fi
echo "==> releasing to $env (pyinfra provisioning/deploy.py, one host at a time)"
exec python provisioning/rollout.py deploy "$env" "$REFRACTOR_BUILD_DIR"
