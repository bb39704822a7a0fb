#!/usr/bin/env bash
# The whole suite: engine and API on both storage engines, UI unit + browser tests, deploy end to end.
# Without arguments: everything but the deploy end-to-end tests on REFRACTOR_TEST_WORKERS processes
# (pytest-xdist, default 2; 0 runs them in this process), then the deploy end-to-end tests, one
# at a time and under /tmp/refractor-e2e.lock (they share network namespaces machine-wide).
# With arguments, they go to one plain pytest run (e.g. scripts/test.sh -m "not e2e" -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh || echo "warning: could not install system packages; dependent tests will say why they fail" >&2
bash scripts/bootstrap.sh dev
if [ -f ui/package.json ]; then
  bash scripts/build-ui.sh
  bash scripts/test-ui.sh
fi
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest "$@"
fi

workers=${REFRACTOR_TEST_WORKERS:-2}
parallel=()
if [ "$workers" != 0 ]; then
  # Each file stays on one worker, the browser tests share one, long tests are dealt first
  # (tests/conftest.py); --no-loadscope-reorder keeps that order.
  parallel=(-n "$workers" --dist loadgroup --no-loadscope-reorder)
fi
status=0
.venv/bin/python -m pytest -m "not e2e" "${parallel[@]}" || status=$?
e2e=(.venv/bin/python -m pytest -m e2e)
if command -v flock >/dev/null; then
  e2e=(flock /tmp/refractor-e2e.lock "${e2e[@]}")
fi
"${e2e[@]}" || status=$?
exit "$status"
