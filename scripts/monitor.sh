#!/usr/bin/env bash
# Run the monitoring checks now on every host of ENV (what the refractor-monitor timer runs) and show
# their results; alerts go out as configured. Exits non-zero if any check fails.
# Usage: scripts/monitor.sh ENV
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || usage
env=$1
[ -f "inventories/$env/hosts.yml" ] || { echo "monitor: no inventory inventories/$env/hosts.yml" >&2; usage; }
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
ansible -i "inventories/$env/hosts.yml" all -b -m ansible.builtin.command -a \
  'systemd-run --quiet --wait --pipe --collect -p User=refractor -p StateDirectory=refractor-monitor
   /usr/local/sbin/refractor-monitor'
