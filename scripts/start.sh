#!/usr/bin/env bash
# `npm start`: installs what is missing, then runs Tenure on embedded defaults (see src/dev/start.ts).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export TEMPORAL_CLI="${TEMPORAL_CLI:-$root/.tools/bin/temporal}"
exec node -r tsx/cjs src/dev/start.ts
