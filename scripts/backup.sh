#!/usr/bin/env bash
# Take a backup now on the first app host of ENV (the refractor-backup.service unit the timer runs)
# and print its path on that host; with --fetch DIR also copy it here.
# Usage: scripts/backup.sh ENV [--fetch DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -eq 1 ] || { [ $# -eq 3 ] && [ "$2" = --fetch ]; } || usage
env=$1 fetch=${3:-}
[ -f "inventories/$env/hosts.yml" ] || { echo "backup: no inventory inventories/$env/hosts.yml" >&2; usage; }
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
out=$(ansible -i "inventories/$env/hosts.yml" 'app[0]' -b -o -m ansible.builtin.shell -a \
  'systemctl start refractor-backup.service && ls -1t /var/backups/refractor/refractor-*.tar.gz | head -1') || {
  echo "backup: failed: $out" >&2
  echo "backup: see 'journalctl -u refractor-backup.service' on the host" >&2; exit 1; }
file=$(sed -n 's/.*(stdout) \(\/[^ ]*\.tar\.gz\).*/\1/p' <<<"$out" | tail -1)
[ -n "$file" ] || { echo "backup: could not read the backup path from: $out" >&2; exit 1; }
if [ -n "$fetch" ]; then
  mkdir -p "$fetch"
  ansible -i "inventories/$env/hosts.yml" 'app[0]' -b -o -m ansible.builtin.fetch \
    -a "src=$file dest=$fetch/ flat=true" >/dev/null
  echo "fetched to $fetch/$(basename "$file")" >&2
fi
echo "$file"
