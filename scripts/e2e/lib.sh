# Shared settings for the e2e harness (sourced, not run).
# Targets live in their own network namespaces on 10.213.N.0/24: host side .1, target .2.
E2E_CACHE=${E2E_CACHE:-/var/cache/refractor-e2e}
E2E_STATE=${E2E_STATE:-/run/refractor-e2e}
E2E_KEY=$E2E_STATE/id_ed25519
E2E_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

e2e_require_root() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "e2e harness: needs root (debootstrap, systemd-nspawn, ip netns)" >&2
    exit 77
  fi
}

e2e_net() { echo "10.213.$1"; }

e2e_ssh() {
  local n=$1; shift
  ssh -q -i "$E2E_KEY" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=2 -o LogLevel=ERROR "root@$(e2e_net "$n").2" "$@"
}

e2e_mirror() {
  awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null \
    || echo "http://deb.debian.org/debian"
}

# Image key: changes whenever the image recipe (these scripts) or the mirror changes, so an image
# made another way is never reused.
e2e_image_key() {
  { cat "$E2E_HERE/image.sh" "$E2E_HERE/lib.sh"; e2e_mirror; } | sha256sum | cut -c1-12
}
