#!/usr/bin/env bash
# Delete cached e2e images no run will use again: those older than E2E_IMAGE_MAX_AGE_DAYS (default
# 7; image.sh would rebuild them), and those of another key (an image recipe or mirror this
# checkout no longer has) that no host booted from for a day. Only while no host runs (a host's
# root is an overlay on its image) and under image.sh's build lock. A checkout that still needs a
# pruned image builds it again. Kept out of image.sh: its text is part of the image key.
# Usage: scripts/e2e/prune-images.sh   (hosts.sh up runs it)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -eq 0 ] || { sed -n '7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
e2e_require_root
images=$E2E_CACHE/images
[ -d "$images" ] || exit 0
max_age=${E2E_IMAGE_MAX_AGE_DAYS:-7}
key=$(e2e_image_key)
exec 9>"$images/.build.lock"; flock 9
if grep -qF " $E2E_STATE/targets/" /proc/self/mountinfo; then exit 0; fi
for d in "$images"/*/; do
  d=${d%/}; name=${d##*/}
  [ -f "$d/.complete" ] || continue  # being published: image.sh renames complete builds only
  stale=$(find "$d/.complete" -mtime "+$max_age")
  # .used: touched by hosts.sh at each boot from the image; an image never booted counts from
  # when it was built.
  recent=$(find "$d/.complete" "$d/.used" -mtime -1 2>/dev/null || true)
  if [ -n "$stale" ] || { [ "${name%%-*}" != "$key" ] && [ -z "$recent" ]; }; then
    echo "e2e: pruning image $name" >&2
    rm -rf "$d"
  fi
done
