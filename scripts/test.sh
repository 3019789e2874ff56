#!/usr/bin/env bash
# Runs jest with what the selected tests need: the sandbox's CA generated and trusted through
# NODE_EXTRA_CA_CERTS (read only when a process starts, so it is set here, before jest and its
# workers start), the Temporal CLI built when a selected test belongs to a group whose global
# setup starts a Temporal server (every group but unit: jest.config.js), and for the cluster
# group Temporal Server, its schema tool and PostgreSQL too (scripts/cluster/build.sh).
# Arguments go to jest: paths or `--selectProjects <group>...` select tests; none runs every group.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Node 24 and the tools from node_modules first, also when run outside npm.
export PATH="$root/node_modules/.bin:$PATH"

# Prints the global setup modules of the projects that have a test jest would run with these
# arguments, one a line (or "unknown" when jest cannot list them: then the run itself reports why).
selected_setups() {
  node -e '
    const { execFileSync } = require("node:child_process");
    const path = require("node:path");
    const config = require(path.resolve("jest.config.js"));
    let tests;
    try {
      const out = execFileSync("jest", ["--listTests", "--json", ...process.argv.slice(1)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      tests = JSON.parse(out);
    } catch {
      console.log("unknown");
      process.exit(0);
    }
    for (const p of config.projects.filter((p) => p.globalSetup)) {
      if (tests.some((t) => p.roots.some((r) => t.startsWith(r + path.sep)))) console.log(p.globalSetup);
    }
  ' -- "$@"
}

setups="$(selected_setups "$@")"
if [ -n "$setups" ]; then
  bash scripts/temporal-cli.sh
fi
if grep -q cluster-setup <<<"$setups"; then
  bash scripts/cluster/build.sh
fi
ca_file="$(tsx scripts/ensure-ca.ts)"
export NODE_EXTRA_CA_CERTS="$ca_file"
exec jest "$@"
