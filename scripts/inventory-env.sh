# Shared by scripts/deploy.sh, plan.sh and rollback.sh (sourced, not run): run from the project root,
# refuse a name that is not an inventory, make sure .venv is installed and put it on PATH.
# Usage: . scripts/inventory-env.sh TOOL ENV   (TOOL names the caller in messages; the caller
#        defines usage(), called when ENV is not an inventory)
# Afterwards: $env is ENV, and `target_arches` exports REFRACTOR_TARGET_ARCHES (the app hosts'
# architectures, unless already set) for provisioning/build.sh.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
env=$2
[[ $env =~ ^[A-Za-z0-9_.-]+$ ]] && [ -f "inventories/$env/hosts.yml" ] || {
  echo "$1: no inventory inventories/$env/hosts.yml" >&2; usage; }
bash scripts/bootstrap.sh dev
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg

# Layouts that would deploy and then misbehave (two app hosts on SQLite, ...) stop here.
check_inventory() { python provisioning/rollout.py check "$env"; }

# Wheels for the hosts' architectures (refractor_target_arch), whatever this machine is.
target_arches() {
  REFRACTOR_TARGET_ARCHES=${REFRACTOR_TARGET_ARCHES:-$(python provisioning/rollout.py arches "$env")}
  export REFRACTOR_TARGET_ARCHES
}

# REFRACTOR_BUILD_DIR names a prebuilt build, or the release is built into build/release.
prebuilt() { [ -n "${REFRACTOR_BUILD_DIR:-}" ] && [ -f "$REFRACTOR_BUILD_DIR/BUILD_ID" ]; }
build_release() {
  export REFRACTOR_BUILD_DIR=$PWD/build/release
  bash provisioning/build.sh "$REFRACTOR_BUILD_DIR" >/dev/null
}
