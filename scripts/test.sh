#!/usr/bin/env bash
# Runs jest with what every test needs: the Temporal CLI built, the sandbox's CA generated and
# trusted through NODE_EXTRA_CA_CERTS (read only when a process starts, so it is set here,
# before jest and its workers start). Arguments go to jest (paths select a test group).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/temporal-cli.sh
ca_file="$(tsx scripts/ensure-ca.ts)"
export NODE_EXTRA_CA_CERTS="$ca_file"
exec jest "$@"
