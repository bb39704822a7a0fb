#!/usr/bin/env bash
# UI unit tests (vitest) and the TypeScript check. Installs the locked npm dependencies when node_modules
# is missing or package-lock.json changed. Non-zero exit on any failure.
# The browser end-to-end tests are Python tests: .venv/bin/python -m pytest tests/ui -m browser
set -euo pipefail
cd "$(dirname "$0")/../ui"

bash ../scripts/ui-deps.sh test

npx --no-install tsc --noEmit
npx --no-install vitest run "$@"
