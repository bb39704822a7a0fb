#!/usr/bin/env bash
# Build (once, cached) a Debian 12 base image with systemd, sshd, python3 and sudo for e2e targets.
# Usage: scripts/e2e/image.sh   -> prints the rootfs path
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -eq 0 ] || { echo "usage: $0" >&2; exit 2; }
e2e_require_root
key=$(e2e_image_key)
dir=$E2E_CACHE/images/$key
if [ -f "$dir/.complete" ]; then echo "$dir/rootfs"; exit 0; fi
rm -rf "$dir"; mkdir -p "$dir"
mirror=$(e2e_mirror)
echo "e2e: building base image $key from $mirror (about a minute, once)" >&2
debootstrap --variant=minbase bookworm "$dir/rootfs" "$mirror" >"$dir/debootstrap.log" 2>&1 \
  || { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
root=$dir/rootfs
# Package scripts must not start daemons inside the build chroot (it shares the host network).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"
cat >"$root/etc/apt/sources.list" <<SRC
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${mirror%/debian}/debian-security bookworm-security main
SRC
chroot "$root" apt-get update -q >"$dir/apt.log" 2>&1
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends \
  systemd systemd-sysv dbus openssh-server python3 sudo iproute2 curl ca-certificates >>"$dir/apt.log" 2>&1 \
  || { tail -20 "$dir/apt.log" >&2; exit 1; }
chroot "$root" apt-get clean
# Like a fresh cloud image: empty package lists (the base role must run apt-get update itself).
rm -rf "$root"/var/lib/apt/lists/*; mkdir -p "$root/var/lib/apt/lists/partial"
rm -f "$root/usr/sbin/policy-rc.d" "$root"/etc/ssh/ssh_host_*
# Host keys are made per target at first boot, like a cloud image.
cat >"$root/etc/systemd/system/ssh-keygen.service" <<'UNIT'
[Unit]
Description=Generate SSH host keys
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable ssh-keygen.service >/dev/null 2>&1
echo "refractor-e2e" >"$root/etc/hostname"
mkdir -p "$root/root/.ssh"; chmod 0700 "$root/root/.ssh"
touch "$dir/.complete"
echo "$root"
