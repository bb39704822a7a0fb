#!/usr/bin/env bash
# Start the service (API, UI, worker) in the foreground on the embedded default (SQLite under ./var/).
# REFRACTOR_CONFIG names a JSON config file; without it ./app.config.json or built-in defaults are used.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh runtime
if [ -f ui/package.json ]; then
  if command -v npm >/dev/null 2>&1; then
    bash scripts/build-ui.sh || echo "warning: the UI build failed; serving the API only" >&2
  else
    echo "Node.js/npm not found: serving the API only. Install Node.js 20+ (e.g. apt-get install nodejs npm) and run 'make run' again for the UI." >&2
  fi
fi
mkdir -p var
exec .venv/bin/refractor serve
