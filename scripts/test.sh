#!/usr/bin/env bash
# The whole suite: engine and API on both storage engines, UI unit + browser tests, deploy end to end.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not e2e" -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh || echo "warning: could not install system packages; dependent tests will say why they fail" >&2
bash scripts/bootstrap.sh dev
if [ -f ui/package.json ]; then
  bash scripts/build-ui.sh
  bash scripts/test-ui.sh
fi
exec .venv/bin/python -m pytest "$@"
