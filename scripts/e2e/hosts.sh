#!/usr/bin/env bash
# Boot or remove throwaway Debian 12 hosts: systemd-nspawn in network namespace reftN, reached over SSH
# at 10.213.N.2 (host side 10.213.N.1) with the key $E2E_STATE/id_ed25519. Every host is also on a
# shared LAN, bridge br-reft 10.213.30.0/24 (host side .1, target .N), so hosts can reach each other.
# Usage: scripts/e2e/hosts.sh up N[:PKG,PKG...]...   |   down N...   |   down-all   |   ssh N [command...]
#   up N:PKG,...  boots host N from an image with those packages preinstalled (scripts/e2e/image.sh)
#   E2E_CONNTRACK_ON_DEMAND="N..." boots those hosts with the kernel's default: no connection
#   tracking until a rule needs it, as on a fresh VM (the firewall role must cope with that).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

check_index() {
  # 30 is the shared LAN's own /24.
  [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 2 ] && [ "$1" -le 254 ] && [ "$1" -ne 30 ] || {
    echo "bad host index: $1 (2-254, not 30)" >&2; exit 2; }
}

# Removes host n's root file system (an overlay over its image, or a copy of it).
remove_root() {
  local t=$E2E_STATE/targets/t$1
  if mountpoint -q "$t/root" 2>/dev/null; then umount "$t/root" 2>/dev/null || umount -l "$t/root"; fi
  rm -rf "$t"
}

up() {
  local n=$1 image=$2 net root ns vh vn t hosts
  check_index "$n"
  net=$(e2e_net "$n"); ns=reft$n; vh=vh-t$n; vn=vn-t$n; t=$E2E_STATE/targets/t$n; root=$t/root
  [ -e "$E2E_STATE/t$n.pid" ] && { echo "host $n is already up" >&2; return 1; }
  remove_root "$n"; mkdir -p "$t/upper" "$t/work" "$root"
  # The host writes to its own upper layer; the cached image underneath is never changed. Without
  # overlayfs, a full copy (a few seconds per host more).
  if ! mount -t overlay overlay -o "lowerdir=$image,upperdir=$t/upper,workdir=$t/work" "$root" 2>/dev/null; then
    rmdir "$root"; cp -a --reflink=auto "$image" "$root"
  fi
  install -m 0600 "$E2E_KEY.pub" "$root/root/.ssh/authorized_keys"
  echo "refractor-e2e-$n" >"$root/etc/hostname"
  # The host's own name resolves, as Debian's installer and cloud-init set it up (sudo looks it up
  # and complains on every call otherwise). The base image (minbase) may have no /etc/hosts at all.
  hosts=$(grep -vs $'^127\.0\.1\.1[ \t]' "$root/etc/hosts" || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback')
  printf '%s\n127.0.1.1\trefractor-e2e-%s\n' "$hosts" "$n" >"$root/etc/hosts"
  ip netns add "$ns"
  # Connection tracking from the namespace's first packet, as on a VM whose firewall loads at boot.
  # Without it, ufw's first enable meets SSH connections already open (the ProxyJump hop out of
  # the Nginx host, Ansible's multiplexed sessions): their next packets are NEW to conntrack, ufw
  # drops them, and the session hangs for good. The rule only counts; it decides nothing.
  # E2E_CONNTRACK_ON_DEMAND hosts go without it: the product's firewall role must then cope.
  local on_demand=${E2E_CONNTRACK_ON_DEMAND:-}
  if command -v nft >/dev/null && [[ " ${on_demand//,/ } " != *" $n "* ]]; then
    printf 'table inet refractor_e2e_ct {\n chain input {\n  type filter hook input priority -20; policy accept;\n  ct state established,related counter\n }\n}\n' |
      ip netns exec "$ns" nft -f -
  fi
  ip link add "$vh" type veth peer name "$vn"
  ip link set "$vn" netns "$ns"
  ip addr add "$net.1/24" dev "$vh"; ip link set "$vh" up
  ip netns exec "$ns" ip addr add "$net.2/24" dev "$vn"
  ip netns exec "$ns" ip link set "$vn" up
  ip netns exec "$ns" ip link set lo up
  ip link add "vl-t$n" type veth peer name "vlan-t$n"
  ip link set "vl-t$n" master br-reft up
  ip link set "vlan-t$n" netns "$ns"
  ip netns exec "$ns" ip addr add "10.213.30.$n/24" dev "vlan-t$n"
  ip netns exec "$ns" ip link set "vlan-t$n" up
  mkdir -p /run/systemd/inaccessible
  # --register=no --keep-unit: there is no machined/system bus on the build host.
  setsid systemd-nspawn -q -D "$root" --boot --register=no --keep-unit --console=passive --capability=CAP_NET_ADMIN \
    --network-namespace-path="/run/netns/$ns" --machine="reft$n" >"$E2E_STATE/t$n.log" 2>&1 </dev/null &
  echo $! >"$E2E_STATE/t$n.pid"
  # Generous: several hosts boot at once on a machine the test run itself loads (load 8 and more).
  local deadline=$((SECONDS + 300))
  until e2e_ssh "$n" 'systemctl is-system-running --wait >/dev/null 2>&1; true' 2>/dev/null; do
    if [ $SECONDS -ge $deadline ] || ! kill -0 "$(cat "$E2E_STATE/t$n.pid")" 2>/dev/null; then
      echo "host $n did not come up; log:" >&2; tail -20 "$E2E_STATE/t$n.log" >&2; return 1
    fi
    sleep 0.3
  done
  echo "host $n up at $net.2"
}

down() {
  local n=$1 pid inner
  check_index "$n"
  if [ -f "$E2E_STATE/t$n.pid" ]; then
    pid=$(cat "$E2E_STATE/t$n.pid")
    # A throwaway host needs no clean shutdown. Its init (nspawn's child) is killed: the kernel
    # ends every process of its PID namespace with it, and nspawn exits. Not nspawn first: killed,
    # it leaves the host running, orphaned (a poweroff that outlasted a fixed wait did that).
    if kill -0 "$pid" 2>/dev/null; then
      inner=$(pgrep -P "$pid" || true)
      # shellcheck disable=SC2086
      [ -z "$inner" ] || kill -KILL $inner 2>/dev/null || true
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$E2E_STATE/t$n.pid"
  fi
  ip link del "vh-t$n" 2>/dev/null || true
  ip link del "vl-t$n" 2>/dev/null || true
  ip netns del "reft$n" 2>/dev/null || true
  if ip link show br-reft >/dev/null 2>&1 && [ -z "$(ip -o link show master br-reft 2>/dev/null)" ]; then
    ip link del br-reft 2>/dev/null || true  # a parallel `down` may have removed it first
  fi
  remove_root "$n"
  echo "host $n down"
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
  up)
    [ $# -ge 1 ] || usage; e2e_require_root
    for spec in "$@"; do check_index "${spec%%:*}"; done
    # What the hosts share (images, key, LAN) is made first, one at a time; then they boot in parallel.
    bash "$E2E_HERE/prune-images.sh" || echo "e2e: could not prune the image cache (this run does not need it)" >&2
    declare -A images
    for spec in "$@"; do
      pkgs=""; [[ $spec != *:* ]] || pkgs=${spec#*:}
      # shellcheck disable=SC2086
      [ -n "${images[k$pkgs]:-}" ] || images[k$pkgs]=$(bash "$E2E_HERE/image.sh" ${pkgs//,/ })
      touch "${images[k$pkgs]%/rootfs}/.used"  # prune-images.sh keeps images in use
    done
    mkdir -p "$E2E_STATE/targets"
    [ -f "$E2E_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C refractor-e2e -f "$E2E_KEY"
    if ! ip link show br-reft >/dev/null 2>&1; then
      ip link add br-reft type bridge && ip addr add 10.213.30.1/24 dev br-reft && ip link set br-reft up
    fi
    pids=()
    for spec in "$@"; do
      pkgs=""; [[ $spec != *:* ]] || pkgs=${spec#*:}
      up "${spec%%:*}" "${images[k$pkgs]}" & pids+=($!)
    done
    failed=0; for p in "${pids[@]}"; do wait "$p" || failed=1; done
    exit $failed ;;
  down)
    [ $# -ge 1 ] || usage; e2e_require_root
    for n in "$@"; do check_index "$n"; done
    for n in "$@"; do down "$n" & done
    wait ;;
  down-all)
    e2e_require_root
    for f in "$E2E_STATE"/t*.pid; do [ -e "$f" ] || continue; n=${f##*/t}; down "${n%.pid}"; done ;;
  ssh)
    [ $# -ge 1 ] || usage; n=$1; shift; check_index "$n"
    # e2e_ssh's options (lib.sh, part of the image key), with time for the handshake: a test's
    # command is one attempt, and sshd on a loaded machine may take seconds to send its banner,
    # which ConnectTimeout bounds too (2 s suits only up's probe, which retries).
    ssh -q -i "$E2E_KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
      -o ConnectTimeout=30 -o LogLevel=ERROR "root@$(e2e_net "$n").2" "$@" ;;
  *) usage ;;
esac
