#!/usr/bin/env bash
# Makes sure the Temporal CLI (which runs `temporal server start-dev`) is available, and prints its path.
# Order: $TEMPORAL_CLI, .tools/bin, the per-user cache, PATH; otherwise build v1.5.1 with `go install`
# from the Go module proxy (minutes the first time) and keep a copy in the per-user cache for fresh clones.
set -euo pipefail
VERSION=1.5.1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/bin"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/tenure/temporal-$VERSION"

found=""
for c in "${TEMPORAL_CLI:-}" "$tools/temporal" "$cache/temporal" "$(command -v temporal || true)"; do
  if [ -n "$c" ] && [ -x "$c" ]; then found="$c"; break; fi
done

if [ -z "$found" ]; then
  if ! command -v go >/dev/null 2>&1; then
    cat >&2 <<MSG
tenure: the Temporal CLI is missing and Go is not installed, so it cannot be built here.
Get the CLI one of these ways, then run this again:
  - install Go 1.22+ (https://go.dev/dl/ or your package manager); Tenure then builds it itself with
      go install github.com/temporalio/cli/cmd/temporal@v$VERSION
  - or install the Temporal CLI from your package manager (e.g. 'brew install temporal') so 'temporal' is on PATH
  - or set TEMPORAL_CLI=/path/to/temporal
MSG
    exit 1
  fi
  echo "tenure: building the Temporal CLI v$VERSION with Go (first time only; takes a few minutes)..." >&2
  mkdir -p "$tools"
  GOBIN="$tools" go install "github.com/temporalio/cli/cmd/temporal@v$VERSION" >&2
  found="$tools/temporal"
fi

# Keep copies where later runs and fresh clones look first.
mkdir -p "$cache" "$tools"
[ -x "$cache/temporal" ] || cp "$found" "$cache/temporal"
[ -x "$tools/temporal" ] || cp "$found" "$tools/temporal"
echo "$tools/temporal"
