#!/usr/bin/env bash
# Installs everything Tenure needs that is missing: npm packages and the Temporal CLI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
stamp=node_modules/.tenure-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "tenure: installing npm packages..." >&2
  # The lock file lists every platform's optional packages, so the standard clean install works anywhere.
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi
bash scripts/ensure-temporal.sh >/dev/null
