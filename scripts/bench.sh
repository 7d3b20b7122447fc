#!/usr/bin/env bash
# `npm run bench`: every benchmark in bench/, each reporting ratios against a baseline measured in the same run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
for b in bench/*.bench.ts; do
  echo "== $b"
  node -r tsx/cjs "$b"
done
