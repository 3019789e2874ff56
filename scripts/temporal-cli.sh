#!/usr/bin/env bash
# Builds the Temporal CLI (dev server with SQLite and the Web UI) into .tools/bin, once.
# Later CLI tags carry a `replace` directive in go.mod and cannot be `go install`ed, so the
# version is pinned to v1.5.1 (Temporal Server 1.29.1, UI 2.42.1). NIU_TEMPORAL_CLI names another
# path for the binary (scripts/temporal-server.ts starts the one it names).
set -euo pipefail
VERSION=1.5.1
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${NIU_TEMPORAL_CLI:-$root/.tools/bin/temporal}"
bin="$(dirname "$target")"
if [ -x "$target" ] && "$target" --version 2>/dev/null | grep -q "temporal version $VERSION"; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "scripts/temporal-cli.sh: Go is required to build the Temporal CLI v$VERSION (https://go.dev/dl/), or put a temporal $VERSION binary at $target" >&2
  exit 1
fi
mkdir -p "$bin"
echo "Building Temporal CLI v$VERSION into $bin (first time: about 3 minutes)..." >&2
start=$(date +%s)
GOBIN="$bin" CGO_ENABLED=0 go install \
  -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=$VERSION" \
  "github.com/temporalio/cli/cmd/temporal@v$VERSION"
[ "$bin/temporal" = "$target" ] || mv "$bin/temporal" "$target"
echo "Temporal CLI built in $(( $(date +%s) - start )) s: $("$target" --version)" >&2
