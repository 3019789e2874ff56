#!/usr/bin/env bash
# Builds what a self-hosted Temporal cluster needs on this machine, once, into the git-ignored
# .tools/: the server (`temporal-server`, about 3 minutes) and its schema tool
# (`temporal-sql-tool`) of Temporal Server v1.29.1, the version the CLI's dev server embeds, and
# the PostgreSQL schema files shipped in the server's module (.tools/temporal-schema, so they
# outlive a cleaned Go module cache). Also installs Debian's PostgreSQL when it is missing (as
# root; scripts/cluster/postgres.ts runs it). Idempotent: a binary of the right version is kept.
set -euo pipefail
VERSION=1.29.1
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="$root/.tools/bin"
schema="$root/.tools/temporal-schema/v$VERSION"
pg_bin="${NIU_POSTGRES_BIN:-/usr/lib/postgresql/15/bin}"

if [ ! -x "$pg_bin/initdb" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing PostgreSQL (Debian's postgresql package)..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "scripts/cluster/build.sh: PostgreSQL missing at $pg_bin: sudo apt-get install -y postgresql (or set NIU_POSTGRES_BIN)" >&2
    exit 1
  fi
fi

# `temporal-server --version` prints "temporal version 1.29.1"; the sql tool has no version
# flag, so a stamp file next to it says which version built it.
if "$bin/temporal-server" --version 2>/dev/null | grep -q "version $VERSION" &&
  [ "$(cat "$bin/temporal-sql-tool.version" 2>/dev/null)" = "$VERSION" ] && [ -x "$bin/temporal-sql-tool" ] &&
  [ -d "$schema/postgresql/v12/temporal/versioned" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "scripts/cluster/build.sh: Go is required to build Temporal Server v$VERSION (https://go.dev/dl/)" >&2
  exit 1
fi
mkdir -p "$bin"
start=$(date +%s)
# go install names a binary after its package folder (server, sql): build in a scratch GOBIN and
# move them to names that say what they are.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
echo "Building Temporal Server v$VERSION and its schema tool into $bin (first time: about 3 minutes)..." >&2
GOBIN="$scratch" CGO_ENABLED=0 go install -ldflags "-s -w" \
  "go.temporal.io/server/cmd/server@v$VERSION" "go.temporal.io/server/cmd/tools/sql@v$VERSION"
mv "$scratch/server" "$bin/temporal-server"
mv "$scratch/sql" "$bin/temporal-sql-tool"
echo "$VERSION" >"$bin/temporal-sql-tool.version"
module="$(go env GOMODCACHE)/go.temporal.io/server@v$VERSION"
rm -rf "$schema"
mkdir -p "$schema"
cp -R "$module/schema/postgresql" "$schema/"
chmod -R u+w "$schema"
echo "Temporal Server built in $(($(date +%s) - start)) s: $("$bin/temporal-server" --version)" >&2
