#!/usr/bin/env bash
# `npm test`: installs what is missing, then lint (ESLint, Prettier, tsc) and every test
# (unit, workflow, integration) against a real Temporal dev server the tests start themselves.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
bash scripts/system-deps.sh
# The real Temporal server and its SQL tool, for the production-profile test (cached like the CLI).
bash scripts/ensure-temporal-server.sh >/dev/null
export TEMPORAL_CLI="${TEMPORAL_CLI:-$root/.tools/bin/temporal}"
echo "== lint" >&2
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
npx tsc --noEmit -p .
echo "== tests" >&2
# With no arguments, every test; with file arguments, only those (`npm test -- test/unit/plan.test.ts`).
if [ $# -eq 0 ]; then set -- "test/**/*.test.ts"; fi
npx mocha "$@"
