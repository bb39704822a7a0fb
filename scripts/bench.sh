#!/usr/bin/env bash
# All benchmarks; each prints its figures and the command that reproduces it.
# Record the results in docs/benchmarks.md with the date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh || true
bash scripts/bootstrap.sh dev
echo "== engine"; .venv/bin/python bench/bench_engine.py "$@"
echo "== HTTP API"; .venv/bin/python bench/bench_api.py --isolated
echo "== cost growth"; .venv/bin/python bench/bench_growth.py
echo "== finalizer"; .venv/bin/python bench/bench_worker.py
echo "== finalizer, sequential transactions"; .venv/bin/python bench/bench_sequence.py
