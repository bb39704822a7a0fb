#!/usr/bin/env bash
# Install the UI's locked npm dependencies when node_modules is missing or package-lock.json changed.
# Usage: scripts/ui-deps.sh <what for>   (the words go into the message when npm is missing)
set -euo pipefail
cd "$(dirname "$0")/../ui"
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: install Node.js 20+ to ${1:-use} the UI" >&2
  exit 1
fi
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat node_modules/.refractor-lock 2>/dev/null)" != "$lock_hash" ]; then
  echo "Installing UI dependencies (npm ci) ..."
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.refractor-lock
fi
