#!/usr/bin/env bash
# Installs everything the stack and the tests need on a machine that has Node, npm and Go:
# npm packages, the Temporal CLI, the sandbox's CA, and (with --browser) Debian's Chromium.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
npm ci --no-audit --no-fund
bash scripts/temporal-cli.sh
export PATH="$root/node_modules/.bin:$PATH"
tsx scripts/ensure-ca.ts >/dev/null
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Browser tests need Debian's chromium at /usr/bin/chromium: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi
