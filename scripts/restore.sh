#!/usr/bin/env bash
# Restore a backup on the first app host of ENV: stops the app, restores (the backup's manifest is
# verified), starts the app and waits until every instance is healthy.
# BACKUP is a path on that host (as printed by backup.sh) or a local file, which is uploaded first.
# Usage: scripts/restore.sh ENV BACKUP
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 2 ] || usage
env=$1 backup=$2
[ -f "inventories/$env/hosts.yml" ] || { echo "restore: no inventory inventories/$env/hosts.yml" >&2; usage; }
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
inv=(-i "inventories/$env/hosts.yml")
if [ -f "$backup" ]; then
  remote=/var/backups/refractor/$(basename "$backup")
  ansible "${inv[@]}" 'app[0]' -b -o -m ansible.builtin.copy \
    -a "src=$backup dest=$remote owner=refractor group=refractor mode=0640" >/dev/null
  backup=$remote
fi
ansible "${inv[@]}" 'app[0]' -b -m ansible.builtin.command -a "/usr/local/sbin/refractor-restore $backup"
