#!/usr/bin/env bash
# Run apt-cacher-ng for the offline targets, bound to host-side veth addresses, from a private copy of
# /etc/apt-cacher-ng whose Debian backend is this machine's own mirror.
# Usage: scripts/e2e/aptproxy.sh start ADDR...   |   stop
set -euo pipefail
. "$(dirname "$0")/lib.sh"
usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
d=$E2E_STATE/acng
# Not 3142: the apt-cacher-ng package's own service may already hold that port on all addresses.
port=${E2E_APT_PROXY_PORT:-3149}
case "$1" in
  start)
    shift; [ $# -ge 1 ] || usage; e2e_require_root
    [ -f "$d/pid" ] && kill -0 "$(cat "$d/pid")" 2>/dev/null && { echo "apt proxy already running" >&2; exit 0; }
    mkdir -p "$d" "$E2E_CACHE/acng-cache"; rm -rf "$d/conf"; cp -a /etc/apt-cacher-ng "$d/conf"
    echo "$(e2e_mirror)/" >"$d/conf/backends_debian"
    mkdir -p "$d/log"; chown -R apt-cacher-ng: "$E2E_CACHE/acng-cache" "$d/log" 2>/dev/null || true
    setsid /usr/sbin/apt-cacher-ng -c "$d/conf" ForeGround=1 "BindAddress=$*" "Port=$port" \
      CacheDir="$E2E_CACHE/acng-cache" LogDir="$d/log" PidFile="$d/acng.pid" >"$d/out.log" 2>&1 </dev/null &
    echo $! >"$d/pid"
    # Up to a minute: a loaded machine may take seconds to start it; a dead one fails at once.
    for _ in $(seq 1 600); do
      (exec 3<>"/dev/tcp/$1/$port") 2>/dev/null && { echo "apt proxy on $1:$port"; exit 0; }
      kill -0 "$(cat "$d/pid")" 2>/dev/null || break
      sleep 0.1
    done
    echo "apt proxy did not start:" >&2; cat "$d/out.log" >&2; exit 1 ;;
  stop)
    [ -f "$d/pid" ] || exit 0
    kill "$(cat "$d/pid")" 2>/dev/null || true; rm -f "$d/pid"; echo "apt proxy stopped" ;;
  *) usage ;;
esac
