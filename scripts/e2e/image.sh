#!/usr/bin/env bash
# Build (once, cached) a Debian 12 base image with systemd, sshd, python3 and sudo for e2e targets.
# With PACKAGEs: the base image plus those packages installed (hosts whose fresh-install behaviour
# is not under test; the package lists are emptied again, as on a fresh cloud image).
# Usage: scripts/e2e/image.sh [PACKAGE...]   -> prints the rootfs path
# Cache: $E2E_CACHE/images/KEY[-PKGS], KEY a hash of this script, lib.sh and the mirror, PKGS one of
# the sorted package list. An image is built under a temporary name and renamed into place when
# complete, so a half-built one is never used; one older than E2E_IMAGE_MAX_AGE_DAYS (default 7,
# the mirror moves on) is rebuilt.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
for p in "$@"; do [[ $p =~ ^[a-z0-9][a-z0-9.+-]+$ ]] || { echo "usage: $0 [PACKAGE...]" >&2; exit 2; }; done
e2e_require_root
key=$(e2e_image_key)
mirror=$(e2e_mirror)
images=$E2E_CACHE/images
mkdir -p "$images"
empty_lists() { rm -rf "$1"/var/lib/apt/lists/*; mkdir -p "$1/var/lib/apt/lists/partial"; }
# Prints the cached image's rootfs and exits when a fresh, complete one exists.
use_cached() {
  local max=${E2E_IMAGE_MAX_AGE_DAYS:-7}
  if [ -f "$1/.complete" ] && [ -z "$(find "$1/.complete" -mtime "+$max")" ]; then echo "$1/rootfs"; exit 0; fi
}
# Moves a finished build into place in one rename. An older entry under the name is retired first,
# and deleted only while no host runs (a host's root is an overlay on its image).
publish() {
  touch "$1/.complete"
  [ ! -e "$2" ] || mv -T "$2" "$images/.retired-${2##*/}-$$"
  mv -T "$1" "$2"
  grep -qF " $E2E_STATE/targets/" /proc/self/mountinfo || rm -rf "$images"/.retired-*
  echo "$2/rootfs"
}
# The base image first (a run of its own, which takes the lock below itself).
[ $# -eq 0 ] || base=$(bash "$0")
# One build at a time per machine; whoever waited finds the image done.
exec 9>"$images/.build.lock"; flock 9
# Temporary builds a killed run left behind.
find "$images" -mindepth 1 -maxdepth 1 -name '.tmp-*' -exec rm -rf {} +
if [ $# -gt 0 ]; then
  packages=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
  dir=$images/$key-$(echo "$packages" | sha256sum | cut -c1-8)
  use_cached "$dir"
  echo "e2e: building an image with $packages preinstalled (once)" >&2
  tmp=$images/.tmp-$key-$$; mkdir -p "$tmp"; cp -a --reflink=auto "$base" "$tmp/rootfs"
  root=$tmp/rootfs
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"
  # shellcheck disable=SC2086
  { chroot "$root" apt-get update -q && DEBIAN_FRONTEND=noninteractive chroot "$root" \
      apt-get install -y -q --no-install-recommends $packages; } >"$tmp/apt.log" 2>&1 \
    || { tail -20 "$tmp/apt.log" >&2; rm -rf "$tmp"; exit 1; }
  chroot "$root" apt-get clean; empty_lists "$root"; rm -f "$root/usr/sbin/policy-rc.d"
  echo "$packages" >"$tmp/packages"
  publish "$tmp" "$dir"; exit 0
fi
dir=$images/$key
use_cached "$dir"
tmp=$images/.tmp-$key-$$; mkdir -p "$tmp"
echo "e2e: building base image $key from $mirror (about a minute, once)" >&2
debootstrap --variant=minbase bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 \
  || { tail -20 "$tmp/debootstrap.log" >&2; rm -rf "$tmp"; exit 1; }
root=$tmp/rootfs
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
chroot "$root" apt-get update -q >"$tmp/apt.log" 2>&1
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends \
  systemd systemd-sysv dbus openssh-server python3 sudo iproute2 curl ca-certificates >>"$tmp/apt.log" 2>&1 \
  || { tail -20 "$tmp/apt.log" >&2; rm -rf "$tmp"; exit 1; }
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
publish "$tmp" "$dir"
