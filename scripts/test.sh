#!/usr/bin/env bash
# Runs jest with what the selected tests need: the sandbox's CA generated and trusted through
# NODE_EXTRA_CA_CERTS (read only when a process starts, so it is set here, before jest and its
# workers start), and the Temporal CLI built when a selected test belongs to a group whose
# global setup starts a Temporal server (every group but unit: jest.config.js; the cluster
# group's setup builds Temporal Server itself). Arguments go to jest: paths or
# `--selectProjects <group>...` select tests; none runs every group.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Node 24 and the tools from node_modules first, also when run outside npm.
export PATH="$root/node_modules/.bin:$PATH"

# Prints "yes" when a test that jest would run with these arguments is in a project with a
# global setup (or when jest cannot list them: then the run itself reports why).
needs_temporal() {
  node -e '
    const { execFileSync } = require("node:child_process");
    const path = require("node:path");
    const config = require(path.resolve("jest.config.js"));
    const roots = config.projects.filter((p) => p.globalSetup).flatMap((p) => p.roots.map((r) => r + path.sep));
    let tests;
    try {
      const out = execFileSync("jest", ["--listTests", "--json", ...process.argv.slice(1)], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
      tests = JSON.parse(out);
    } catch {
      console.log("yes");
      process.exit(0);
    }
    console.log(tests.some((t) => roots.some((r) => t.startsWith(r))) ? "yes" : "no");
  ' -- "$@"
}

if [ "$(needs_temporal "$@")" = yes ]; then
  bash scripts/temporal-cli.sh
fi
ca_file="$(tsx scripts/ensure-ca.ts)"
export NODE_EXTRA_CA_CERTS="$ca_file"
exec jest "$@"
