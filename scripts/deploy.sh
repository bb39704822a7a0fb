#!/usr/bin/env bash
# Provision (Ansible, playbooks/site.yml) then release (pyinfra, provisioning/deploy.py) one environment.
# Usage: scripts/deploy.sh ENV [--release-only]
#   ENV is a directory under inventories/ (staging, production, e2e, ...).
#   Secrets: ANSIBLE_VAULT_PASSWORD_FILE for an encrypted group_vars/all/vault.yml, or the environment
#   variables the inventory looks up. REFRACTOR_BUILD_DIR=DIR releases a prebuilt build instead.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '3,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
env=$1 mode=${2:-all}
case "$mode" in all|--release-only) ;; *) usage ;; esac
[[ $env =~ ^[A-Za-z0-9_.-]+$ ]] && [ -f "inventories/$env/hosts.yml" ] || {
  echo "deploy: no inventory inventories/$env/hosts.yml" >&2; usage; }
bash scripts/bootstrap.sh dev
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
# Layouts that would deploy and then misbehave (two app hosts on SQLite, ...) stop here.
python provisioning/rollout.py check "$env"
# Wheels for the hosts' architectures (refractor_target_arch), whatever this machine is.
REFRACTOR_TARGET_ARCHES=${REFRACTOR_TARGET_ARCHES:-$(python provisioning/rollout.py arches "$env")}
export REFRACTOR_TARGET_ARCHES

# Build first: nothing on the hosts changes if the build fails.
if [ -n "${REFRACTOR_BUILD_DIR:-}" ] && [ -f "$REFRACTOR_BUILD_DIR/BUILD_ID" ]; then
  echo "==> using prebuilt $(cat "$REFRACTOR_BUILD_DIR/BUILD_ID") from $REFRACTOR_BUILD_DIR"
else
  export REFRACTOR_BUILD_DIR=$PWD/build/release
  echo "==> building release artifacts"
  bash provisioning/build.sh "$REFRACTOR_BUILD_DIR" >/dev/null
  echo "    build $(cat "$REFRACTOR_BUILD_DIR/BUILD_ID")"
fi
python provisioning/rollout.py plan "$env" "$REFRACTOR_BUILD_DIR"

if [ "$mode" = all ]; then
  echo "==> provisioning $env (ansible-playbook playbooks/site.yml)"
  ansible-playbook -i "inventories/$env/hosts.yml" playbooks/site.yml
fi
echo "==> releasing to $env (pyinfra provisioning/deploy.py, one host at a time)"
exec python provisioning/rollout.py deploy "$env" "$REFRACTOR_BUILD_DIR"
