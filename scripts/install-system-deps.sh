#!/usr/bin/env bash
# Install the Debian packages the test suite needs (browser, deploy targets, config validators).
# Installs only what is missing; needs root (or passwordless sudo) when something is missing.
set -euo pipefail
pkgs=(chromium debootstrap systemd-container apt-cacher-ng openssh-client nginx-light logrotate iproute2 nftables rsync wrk jq curl openssl)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
