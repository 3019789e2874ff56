#!/usr/bin/env bash
# Runs jest with what every test needs: the Temporal CLI built, the sandbox's CA generated and
# trusted through NODE_EXTRA_CA_CERTS (read only when a process starts, so it is set here,
# before jest and its workers start). Arguments go to jest (paths select a test group).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Node 24 and the tools from node_modules first, also when run outside npm.
export PATH="$root/node_modules/.bin:$PATH"
bash scripts/temporal-cli.sh
ca_file="$(tsx scripts/ensure-ca.ts)"
export NODE_EXTRA_CA_CERTS="$ca_file"
exec jest "$@"
