#!/usr/bin/env bash
# Makes sure the real Temporal server (not the dev server) and its SQL schema tool are available, and prints the
# folder that holds them: `temporal-server` and `temporal-sql-tool`, v1.29.1 (DESIGN §8). They run the production
# profile test on PostgreSQL. Order: $TEMPORAL_SERVER_DIR, .tools/bin, the per-user cache; otherwise
# `go install go.temporal.io/server/cmd/{server,tools/sql}@v1.29.1` from the Go module proxy (minutes the first time;
# Go's caches make a rebuild quick) and a copy in the per-user cache for fresh clones.
set -euo pipefail
VERSION=1.29.1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/bin"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/tenure/temporal-server-$VERSION"

has() { [ -x "$1/temporal-server" ] && [ -x "$1/temporal-sql-tool" ]; }

found=""
for d in "${TEMPORAL_SERVER_DIR:-}" "$tools" "$cache"; do
  if [ -n "$d" ] && has "$d"; then found="$d"; break; fi
done

if [ -z "$found" ]; then
  if ! command -v go >/dev/null 2>&1; then
    cat >&2 <<MSG
tenure: the Temporal server $VERSION is missing and Go is not installed, so it cannot be built here.
Install Go 1.22+ and run this again, or put temporal-server and temporal-sql-tool (v$VERSION) in one folder
and set TEMPORAL_SERVER_DIR to it.
MSG
    exit 1
  fi
  echo "tenure: building the Temporal server v$VERSION and its SQL tool with Go (first time only)..." >&2
  build="$(mktemp -d)"
  GOBIN="$build" go install "go.temporal.io/server/cmd/server@v$VERSION" "go.temporal.io/server/cmd/tools/sql@v$VERSION" >&2
  mkdir -p "$cache"
  mv "$build/server" "$cache/temporal-server"
  mv "$build/sql" "$cache/temporal-sql-tool"
  rmdir "$build"
  found="$cache"
fi

mkdir -p "$cache" "$tools"
for b in temporal-server temporal-sql-tool; do
  [ -x "$cache/$b" ] || cp "$found/$b" "$cache/$b"
  [ -x "$tools/$b" ] || cp "$found/$b" "$tools/$b"
done
echo "$tools"
