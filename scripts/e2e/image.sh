#!/usr/bin/env bash
# Build (once, cached) a Debian 12 base image with systemd, sshd, python3 and sudo for e2e targets.
# With PACKAGEs: the base image plus those packages installed (hosts whose fresh-install behaviour
# is not under test; the package lists are emptied again, as on a fresh cloud image).
# Usage: scripts/e2e/image.sh [PACKAGE...]   -> prints the rootfs path
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for p in "$@"; do [[ $p =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || { echo "usage: $0 [PACKAGE...]" >&2; exit 2; }; done
e2e_require_root
key=$(e2e_image_key)
mirror=$(e2e_mirror)
empty_lists() { rm -rf "$1"/var/lib/apt/lists/*; mkdir -p "$1/var/lib/apt/lists/partial"; }
if [ $# -gt 0 ]; then
  base=$(bash "$0")
  packages=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
  dir=$E2E_CACHE/images/$key-$(echo "$packages" | sha256sum | cut -c1-8)
  if [ -f "$dir/.complete" ]; then echo "$dir/rootfs"; exit 0; fi
  echo "e2e: building an image with $packages preinstalled (once)" >&2
  rm -rf "$dir"; mkdir -p "$dir"; cp -a --reflink=auto "$base" "$dir/rootfs"
  root=$dir/rootfs
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"
  # shellcheck disable=SC2086
  { chroot "$root" apt-get update -q && DEBIAN_FRONTEND=noninteractive chroot "$root" \
      apt-get install -y -q --no-install-recommends $packages; } >"$dir/apt.log" 2>&1 \
    || { tail -20 "$dir/apt.log" >&2; exit 1; }
  chroot "$root" apt-get clean; empty_lists "$root"; rm -f "$root/usr/sbin/policy-rc.d"
  echo "$packages" >"$dir/packages"; touch "$dir/.complete"
  echo "$root"; exit 0
fi
dir=$E2E_CACHE/images/$key
if [ -f "$dir/.complete" ]; then echo "$dir/rootfs"; exit 0; fi
rm -rf "$dir"; mkdir -p "$dir"
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
# Speed only, nothing a test looks at: dpkg skips fsync (a throwaway host), and docs and man pages
# are neither unpacked nor indexed (man-db's trigger runs after every install otherwise).
cat >"$root/etc/dpkg/dpkg.cfg.d/01refractor-e2e" <<'CFG'
force-unsafe-io
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
CFG
chroot "$root" apt-get update -q >"$dir/apt.log" 2>&1
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends \
  systemd systemd-sysv dbus openssh-server python3 sudo iproute2 curl ca-certificates >>"$dir/apt.log" 2>&1 \
  || { tail -20 "$dir/apt.log" >&2; exit 1; }
chroot "$root" apt-get clean
echo "man-db man-db/auto-update boolean false" | chroot "$root" debconf-set-selections
rm -f "$root/var/lib/man-db/auto-update"
# Like a fresh cloud image: empty package lists (the base role must run apt-get update itself).
empty_lists "$root"
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
