#!/usr/bin/env bash
# First contact with a fresh VM: `make bootstrap ENV=staging HOST=staging-1`.
# Logs in once as the image's first user (root by default), records the host's SSH key (trust on
# first use: the fingerprints are printed, compare them with your provider's console), creates the
# user the inventory deploys as (ansible_user) with your public key and passwordless sudo, refuses an
# sshd configuration that would keep that user out, and checks that it can log in and sudo.
# Usage: scripts/bootstrap-host.sh ENV HOST   (HOST: an inventory host, a group, or all)
#   BOOTSTRAP_USER=root   the image's first user (e.g. debian, admin: it must have sudo)
#   BOOTSTRAP_PUBKEY=FILE the key the deploy user accepts (default: the inventory's
#                         ansible_ssh_private_key_file + .pub, else ~/.ssh/id_ed25519.pub, id_ecdsa.pub, id_rsa.pub)
#   REFRACTOR_KNOWN_HOSTS=FILE where host keys are recorded (default ~/.ssh/known_hosts)
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '7,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 2 ] || usage
env=$1 target=$2
[[ $env =~ ^[A-Za-z0-9_.-]+$ ]] && [ -f "inventories/$env/hosts.yml" ] || {
  echo "bootstrap: no inventory inventories/$env/hosts.yml" >&2; usage; }
bash scripts/bootstrap.sh dev
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
login=${BOOTSTRAP_USER:-root}
known_hosts=${REFRACTOR_KNOWN_HOSTS:-$HOME/.ssh/known_hosts}
mkdir -p "$(dirname "$known_hosts")"; touch "$known_hosts"

# name, address, port, deploy user, private key, ssh args of each selected host (tab-separated).
hosts=$(python - "$env" "$target" <<'PY'
import sys
sys.path.insert(0, "provisioning")
from refractor_deploy.inventory import load
env, target = sys.argv[1:]
inv = load(env)
if target == "all":
    names = list(inv["hosts"])
else:
    names = inv["groups"].get(target) or ([target] if target in inv["hosts"] else [])
if not names:
    sys.exit(f"bootstrap: {target} is neither a host nor a group of inventories/{env}")
for name in names:
    d = inv["hosts"][name]
    print("\t".join(str(x) for x in (name, d.get("ansible_host", name), d.get("ansible_port", 22),
          d.get("ansible_user", "deploy"), d.get("ansible_ssh_private_key_file", ""),
          d.get("ansible_ssh_common_args", ""))))
PY
)

while IFS=$'\t' read -r name addr port deploy_user key ssh_args; do
  pub=${BOOTSTRAP_PUBKEY:-}
  if [ -z "$pub" ]; then
    for c in ${key:+"$key.pub"} ~/.ssh/id_ed25519.pub ~/.ssh/id_ecdsa.pub ~/.ssh/id_rsa.pub; do
      [ -f "$c" ] && { pub=$c; break; }
    done
  fi
  [ -n "$pub" ] && [ -f "$pub" ] || { echo "bootstrap: no public key found; set BOOTSTRAP_PUBKEY=FILE" >&2; exit 1; }
  # Our options come first: ssh keeps the first value it reads for each option.
  # shellcheck disable=SC2206
  tofu=(-o StrictHostKeyChecking=accept-new -o "UserKnownHostsFile=$known_hosts" -o BatchMode=yes
        -o ConnectTimeout=15 -p "$port" ${key:+-i "$key"} $ssh_args)
  echo "==> $name ($addr): first login as $login"
  ssh "${tofu[@]}" "$login@$addr" true || {
    echo "bootstrap: cannot log in to $addr as $login with your key. A changed host key is refused on" \
         "purpose (see the message above); otherwise check BOOTSTRAP_USER and the key." >&2; exit 1; }
  lookup=$addr; [ "$port" = 22 ] || lookup="[$addr]:$port"
  echo "    host key (trust on first use; compare with the fingerprints your provider shows for the VM):"
  ssh-keygen -l -F "$lookup" -f "$known_hosts" | grep -v '^#' | sed 's/^/      /'
  extra=$(python -c 'import json,sys; print(json.dumps({"bootstrap_login_user": sys.argv[1],
    "bootstrap_deploy_user": sys.argv[2], "bootstrap_public_key": open(sys.argv[3]).read().strip(),
    "ansible_user": sys.argv[1], "ansible_become": sys.argv[1] != "root",
    "ansible_ssh_common_args": sys.argv[4]}))' \
    "$login" "$deploy_user" "$pub" "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=$known_hosts $ssh_args")
  ansible-playbook -i "inventories/$env/hosts.yml" --limit "$name" playbooks/bootstrap.yml -e "$extra"
  # shellcheck disable=SC2206
  strict=(-o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$known_hosts" -o BatchMode=yes -p "$port"
          ${key:+-i "$key"} $ssh_args)
  ssh "${strict[@]}" "$deploy_user@$addr" sudo -n true || {
    echo "bootstrap: $deploy_user cannot log in to $addr or sudo without a password" >&2; exit 1; }
  echo "    $deploy_user logs in with your key and has passwordless sudo"
done <<<"$hosts"
echo "==> next: make deploy ENV=$env"
