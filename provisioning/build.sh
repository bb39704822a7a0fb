#!/usr/bin/env bash
# Build what a release uploads, on this machine (targets are offline): the refractor wheel, a
# wheelhouse of the locked runtime dependencies and the UI bundle, packed as one tar.
# Usage: provisioning/build.sh [OUT_DIR]   (default build/release; prints the build id)
# A build with the same inputs is reused, so an unchanged tree gives byte-identical artifacts.
# REFRACTOR_BUILD_SUFFIX=x appends "-x" to the build id (a distinct release of the same code).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -le 1 ] || { echo "usage: $0 [OUT_DIR]" >&2; exit 2; }
out=${1:-build/release}
py=.venv/bin/python
[ -x "$py" ] || { echo "build: .venv is missing; run make install-dev first" >&2; exit 1; }

if [ "${REFRACTOR_SKIP_UI_BUILD:-0}" != 1 ]; then
  bash scripts/build-ui.sh >&2 || echo "build: the UI build failed (see above)" >&2
fi
if [ ! -f ui/dist/index.html ]; then
  echo "build: ui/dist/index.html is missing. Install Node.js 20+ and npm, then run 'make ui'." >&2
  exit 1
fi

version=$($py -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
src_hash=$( {
  git ls-files -z -co --exclude-standard -- app pyproject.toml requirements.lock setup.py setup.cfg MANIFEST.in \
    | sort -z | xargs -0 sha256sum
  (cd ui/dist && find . -type f -print0 | sort -z | xargs -0 sha256sum)
} | sha256sum | cut -c1-10)
build_id=$version-$src_hash${REFRACTOR_BUILD_SUFFIX:+-$REFRACTOR_BUILD_SUFFIX}
mkdir -p "$out"
tar_file=$out/refractor-$build_id.tar
if [ ! -f "$tar_file" ]; then
  lock_hash=$(sha256sum requirements.lock | cut -c1-12)
  wheelhouse=build/wheelhouse-$lock_hash
  if [ ! -f "$wheelhouse/.complete" ]; then
    echo "build: downloading/building the locked runtime wheels into $wheelhouse" >&2
    rm -rf "$wheelhouse"
    $py -m pip wheel -q -r requirements.lock -w "$wheelhouse" >&2
    touch "$wheelhouse/.complete"
  fi
  stage=$(mktemp -d "$out/.stage.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/wheels"
  cp "$wheelhouse"/*.whl "$stage/wheels/"
  SOURCE_DATE_EPOCH=315532800 $py -m pip wheel -q --no-deps -w "$stage/wheels" . >&2
  cp -r ui/dist "$stage/ui"
  echo "$build_id" >"$stage/BUILD_ID"
  tar --sort=name --mtime=@315532800 --owner=0 --group=0 --numeric-owner -C "$stage" \
    -cf "$tar_file.tmp" BUILD_ID wheels ui
  mv "$tar_file.tmp" "$tar_file"
  # Keep the five newest builds.
  ls -1t "$out"/refractor-*.tar | tail -n +6 | xargs -r rm -f
fi
echo "$build_id" >"$out/BUILD_ID"
echo "$build_id"
