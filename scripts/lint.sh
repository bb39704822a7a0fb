#!/usr/bin/env bash
# ruff (whole tree) and mypy --strict (app/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh dev
.venv/bin/ruff check .
.venv/bin/mypy
