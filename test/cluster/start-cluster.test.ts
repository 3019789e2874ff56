// The stack behind `npm run start:cluster` (scripts/cluster/main.ts), on free ports and a fresh
// data folder: PostgreSQL and Temporal Server come up (the CLI finds the cluster serving and
// lists its workflows), both APIs are ready, and SIGINT (Ctrl-C) stops every process it started,
// PostgreSQL's too, leaving none behind. The server binaries come from the cluster group's global
// setup (test/helpers/cluster-setup.ts); the cluster it starts is not used here.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../scripts/ports';
import {
  cleanUp,
  expectCtrlCStopsEverything,
  freePortPair,
  startLocalStack,
  temporalCli,
} from '../helpers/local-stack';

/** Starts scripts/cluster/main.ts on free ports and a fresh data folder; resolves at "ready". */
function startClusterStack() {
  return startLocalStack({
    entry: 'scripts/cluster/main.ts',
    name: 'niu-startcluster',
    ports: async () => ({
      temporal: await freePort(),
      // The two APIs and the two workers' metrics take a port and the next one.
      api: await freePortPair(),
      workerMetrics: await freePortPair(),
      sandbox: await freePort(),
      postgres: await freePort(),
    }),
    env: (ports) => ({ NIU_CLUSTER_POSTGRES_PORT: String(ports.postgres) }),
    // initdb, the schema, the server and the namespace's cache refresh, on 2 shared cores.
    readyTimeoutMs: 300_000,
  });
}

test('the cluster stack comes up wired together and Ctrl-C leaves no process behind', async () => {
  const stack = await startClusterStack();
  const { dataDir, ports } = stack;
  const address = `127.0.0.1:${ports.temporal}`;
  try {
    const output = stack.run.output();
    expect(output).toContain(`Temporal gRPC  ${address}`);
    expect(output).toContain(`PostgreSQL on 127.0.0.1:${ports.postgres}`);
    for (const port of [ports.api, ports.api + 1]) {
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    }
    expect(await temporalCli(address, ['operator', 'cluster', 'health'])).toMatch(/SERVING/);
    const list = await temporalCli(address, ['workflow', 'list', '-o', 'json']);
    expect(Array.isArray(JSON.parse(list || '[]'))).toBe(true);
    // PostgreSQL keeps the cluster's data in the data folder, so workflows survive a restart.
    const postgresDir = path.join(dataDir, 'cluster', 'postgres');
    expect(existsSync(path.join(postgresDir, 'PG_VERSION'))).toBe(true);

    // PostgreSQL, Temporal Server, the sandbox, two workers and two APIs at least.
    await expectCtrlCStopsEverything(stack, 7);
    // PostgreSQL removes its lock file only when it shuts down cleanly.
    expect(existsSync(path.join(postgresDir, 'postmaster.pid'))).toBe(false);
  } finally {
    await cleanUp(stack);
  }
}, 600_000);
