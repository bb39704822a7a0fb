#!/usr/bin/env bash
# UI unit tests (vitest) and the TypeScript check. Installs the locked npm dependencies when node_modules
# is missing or package-lock.json changed. Non-zero exit on any failure.
# The browser end-to-end tests are Python tests: .venv/bin/python -m pytest tests/ui -m browser
set -euo pipefail
cd "$(dirname "$0")/../ui"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: install Node.js 20+ to test the UI" >&2
  exit 1
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.refractor-lock 2>/dev/null)" != "$lock_hash" ]; then
  echo "Installing UI dependencies (npm ci) ..."
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.refractor-lock
fi

npx --no-install tsc --noEmit
npx --no-install vitest run "$@"
