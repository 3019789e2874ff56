#!/usr/bin/env bash
# `npm start`: on a fresh clone, installs what is missing (npm packages, the Temporal CLI), then
# runs the whole stack on the sandbox (scripts/dev.ts) until Ctrl-C. `npm run start:cluster`
# (--cluster) builds and installs what the self-hosted cluster needs too (scripts/cluster/build.sh:
# Temporal Server, its schema tool, PostgreSQL) and runs the stack on it (scripts/cluster/main.ts).
# This script may run on the machine's own Node (npm starts it before node_modules exists), so it
# only installs; the stack itself runs on the Node 24 that the install puts in node_modules/.bin.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages (npm ci)..." >&2
  npm ci --no-audit --no-fund
fi
bash scripts/temporal-cli.sh
export PATH="$root/node_modules/.bin:$PATH"
if [ "${1:-}" = "--cluster" ]; then
  shift
  bash scripts/cluster/build.sh
  exec node --import tsx scripts/cluster/main.ts "$@"
fi
exec node --import tsx scripts/dev.ts "$@"
