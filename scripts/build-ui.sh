#!/usr/bin/env bash
# Build the browser UI into ui/dist. Installs the locked npm dependencies when node_modules is missing or
# package-lock.json changed, and skips the build when neither the sources nor the build settings changed.
# Environment: API_ORIGIN (default same origin), WALLETCONNECT_PROJECT_ID, UI_TEST_WALLET=0; FORCE=1 rebuilds.
set -euo pipefail
cd "$(dirname "$0")/../ui"

bash ../scripts/ui-deps.sh build

# Everything that affects the output: sources, configs, lock file and the build-time settings.
src_hash=$( {
  find src public index.html vite.config.ts tsconfig.json package.json package-lock.json -type f -print0 \
    | sort -z | xargs -0 sha256sum
  echo "API_ORIGIN=${API_ORIGIN:-} WALLETCONNECT_PROJECT_ID=${WALLETCONNECT_PROJECT_ID:-} UI_TEST_WALLET=${UI_TEST_WALLET:-}"
} | sha256sum | cut -d' ' -f1)
stamp=dist/.build-hash
if [ "${FORCE:-0}" != 1 ] && [ -f dist/index.html ] && [ "$(cat "$stamp" 2>/dev/null)" = "$src_hash" ]; then
  echo "UI is up to date (ui/dist)."
  exit 0
fi

npm run build --silent
echo "$src_hash" > "$stamp"
node scripts/size-report.mjs
