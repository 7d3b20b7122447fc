#!/usr/bin/env bash
# `npm run bench`: every benchmark in bench/, at the issue's full scale unless BENCH_SCALE says otherwise
# (BENCH_SCALE=0.05 npm run bench is a quick run). Each bench prints its figures with their ratio to a baseline
# measured in the same run; all of them are written to bench/results/<run id>.json (git-ignored), and the run
# closes with every target, held or missed. Compare two runs:
#   node -r tsx/cjs bench/lib/summary.ts bench/results/<old>.json bench/results/<new>.json
# BENCH_ONLY=hires,exit runs only those benches.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/setup.sh
export TEMPORAL_CLI="${TEMPORAL_CLI:-$root/.tools/bin/temporal}"
export BENCH_RUN_ID="${BENCH_RUN_ID:-$(date -u +%Y-%m-%dT%H-%M-%SZ)}"
# Tenure's entry points run as they ship (compiled, as the Dockerfile runs them), built once for every bench;
# BENCH_FROM_SOURCE=1 runs them from the TypeScript sources instead.
if [ "${BENCH_FROM_SOURCE:-}" != "1" ]; then
  export BENCH_BUILD_DIR="$root/.bench-build"
  rm -rf "$BENCH_BUILD_DIR"
  node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$BENCH_BUILD_DIR"
fi
status=0
start=$SECONDS
for b in bench/*.bench.ts; do
  name="$(basename "$b" .bench.ts)"
  if [ -n "${BENCH_ONLY:-}" ] && [[ ",$BENCH_ONLY," != *",$name,"* ]]; then continue; fi
  echo "== $b"
  t0=$SECONDS
  if ! node -r tsx/cjs "$b"; then
    echo "!! $b failed" >&2
    status=1
  fi
  echo "   ($b: $((SECONDS - t0)) s)"
done
echo "== all benches: $((SECONDS - start)) s"
if [ -f "bench/results/$BENCH_RUN_ID.json" ]; then
  node -r tsx/cjs bench/lib/summary.ts "bench/results/$BENCH_RUN_ID.json"
fi
exit $status
