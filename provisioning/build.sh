#!/usr/bin/env bash
# Build what a release uploads, on this machine (targets are offline): the refractor wheel, a
# wheelhouse of the locked runtime dependencies for the TARGET (not this machine) and the UI bundle,
# packed as one tar with the hashed lock file the hosts install from (pip --require-hashes).
# Usage: provisioning/build.sh [OUT_DIR]   (default build/release; prints the build id)
# A build with the same inputs is reused, so an unchanged tree gives byte-identical artifacts.
# REFRACTOR_BUILD_SUFFIX=x appends "-x" to the build id (a distinct release of the same code).
# Target (Debian 12 by default): REFRACTOR_TARGET_ARCHES="x86_64 aarch64", REFRACTOR_TARGET_PYTHON=3.11,
# REFRACTOR_TARGET_GLIBC=36. A dependency without a wheel for the target goes in as its source
# distribution, with wheels of its build backend, and is built on the host at install time (still
# checked against the lock's hashes; a C extension then needs a compiler there).
# REFRACTOR_BUILD_FROM_SOURCE="name ..." ships those dependencies as source even when wheels exist.
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

arches=${REFRACTOR_TARGET_ARCHES:-x86_64}
pyver=${REFRACTOR_TARGET_PYTHON:-3.11}
glibc=${REFRACTOR_TARGET_GLIBC:-36}
for a in $arches; do
  case "$a" in x86_64|aarch64) ;; *) echo "build: unsupported target arch $a (x86_64, aarch64)" >&2; exit 2 ;; esac
done
[[ $pyver =~ ^3\.[0-9]+$ && $glibc =~ ^[0-9]+$ ]] || { echo "build: bad REFRACTOR_TARGET_PYTHON/GLIBC" >&2; exit 2; }
target="cp${pyver/./}-glibc2.$glibc-${arches// /+}"
norm() { tr 'A-Z_.' 'a-z--'; }
from_source=" $(echo "${REFRACTOR_BUILD_FROM_SOURCE:-}" | norm | xargs) "
[ "$from_source" = "  " ] || target="$target-src-$(echo $from_source | tr ' ' +)"

version=$($py -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
src_hash=$( {
  git ls-files -z -co --exclude-standard -- app pyproject.toml requirements.lock setup.py setup.cfg MANIFEST.in \
    | sort -z | xargs -0 sha256sum
  (cd ui/dist && find . -type f -print0 | sort -z | xargs -0 sha256sum)
  echo "$target"
} | sha256sum | cut -c1-10)
build_id=$version-$src_hash${REFRACTOR_BUILD_SUFFIX:+-$REFRACTOR_BUILD_SUFFIX}
mkdir -p "$out"
tar_file=$out/refractor-$build_id.tar
if [ ! -f "$tar_file" ]; then
  lock_hash=$( { cat requirements.lock; echo "$target"; } | sha256sum | cut -c1-12)
  wheelhouse=build/wheelhouse-$lock_hash
  if [ ! -f "$wheelhouse/.complete" ]; then
    echo "build: fetching the locked runtime dependencies for $target into $wheelhouse" >&2
    rm -rf "$wheelhouse"; mkdir -p "$wheelhouse"
    # The lock split in two: what comes as wheels, and what REFRACTOR_BUILD_FROM_SOURCE names.
    for part in binary source; do
      awk -v skip="$from_source" -v part=$part '
        /^#/ {next}
        /^[A-Za-z0-9]/ {n = tolower($1); sub(/==.*/, "", n); gsub(/[_.]/, "-", n)
                        listed = index(skip, " " n " ") > 0; keep = (part == "source") == listed}
        keep' requirements.lock >"$wheelhouse/.$part.lock"
    done
    if [ -s "$wheelhouse/.source.lock" ]; then
      $py -m pip download -q --no-deps --no-binary=:all: -d "$wheelhouse" -r "$wheelhouse/.source.lock" >&2
    fi
    for a in $arches; do
      # pip takes the platform tags literally: list every glibc the target's can run.
      plats=(); for ((v = glibc; v >= 17; v--)); do plats+=(--platform "manylinux_2_${v}_$a"); done
      plats+=(--platform "manylinux2014_$a")
      fetch=(-m pip download -q "${plats[@]}" --python-version "$pyver" --implementation cp
             --abi "cp${pyver/./}" --only-binary=:all: -d "$wheelhouse")
      if ! $py "${fetch[@]}" --no-deps -r "$wheelhouse/.binary.lock" >&2; then
        # One by one: a dependency without a wheel for this platform comes as its sdist instead.
        while read -r pin; do
          $py "${fetch[@]}" --no-deps "$pin" >&2 2>/dev/null \
            || $py -m pip download -q --no-deps --no-binary=:all: -d "$wheelhouse" "$pin" >&2
        done < <(grep -oE '^[A-Za-z0-9][A-Za-z0-9._-]*==[^ ;\\]+' "$wheelhouse/.binary.lock")
      fi
      if ls "$wheelhouse"/*.tar.gz >/dev/null 2>&1; then
        # The hosts are offline: what building those sdists needs (their PEP 517 build backends,
        # setuptools when they name none) comes along, as wheels for the target.
        $py - "$wheelhouse" >"$wheelhouse/.build-requires" <<'PY'
import sys, tarfile, tomllib
from pathlib import Path
wanted = set()
for sdist in Path(sys.argv[1]).glob("*.tar.gz"):
    with tarfile.open(sdist) as tar:
        meta = [m for m in tar.getmembers() if m.name.count("/") == 1 and m.name.endswith("/pyproject.toml")]
        system = tomllib.load(tar.extractfile(meta[0])).get("build-system", {}) if meta else {}
    wanted.update(system.get("requires", ["setuptools>=40.8.0", "wheel"]))
print("\n".join(sorted(wanted)))
PY
        $py "${fetch[@]}" -r "$wheelhouse/.build-requires" >&2
      fi
    done
    if ls "$wheelhouse"/*.tar.gz >/dev/null 2>&1; then
      echo "build: shipped as source, the hosts build them: $(cd "$wheelhouse" && ls ./*.tar.gz | tr '\n' ' ')" >&2
    fi
    touch "$wheelhouse/.complete"
  fi
  stage=$(mktemp -d "$out/.stage.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/wheels"
  find "$wheelhouse" -maxdepth 1 \( -name '*.whl' -o -name '*.tar.gz' \) -exec cp {} "$stage/wheels/" \;
  cp requirements.lock "$stage/requirements.lock"
  SOURCE_DATE_EPOCH=315532800 $py -m pip wheel -q --no-deps -w "$stage/wheels" . >&2
  cp -r ui/dist "$stage/ui"
  echo "$build_id" >"$stage/BUILD_ID"
  tar --sort=name --mtime=@315532800 --owner=0 --group=0 --numeric-owner -C "$stage" \
    -cf "$tar_file.tmp" BUILD_ID requirements.lock wheels ui
  mv "$tar_file.tmp" "$tar_file"
  # Keep the five newest builds.
  ls -1t "$out"/refractor-*.tar | tail -n +6 | xargs -r rm -f
fi
echo "$build_id" >"$out/BUILD_ID"
echo "$build_id"
