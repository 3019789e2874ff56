// The cluster group's global setup: one self-hosted Temporal cluster for the run (PostgreSQL and
// Temporal Server with 4 history shards, set up by the compose scripts: scripts/cluster/), and
// the workflow bundle. It first builds what is missing (scripts/cluster/build.sh: the server, its
// schema tool, PostgreSQL; a few seconds' check once built), as scripts/test.sh builds the CLI.
// The cluster lives in jest's main process, while the tests run in its workers, so a test that
// restarts the server asks through a small HTTP endpoint on loopback (POST /server/restart),
// which stops the server process with the signal given and starts it again on the same database.
// NIU_TEST_CLUSTER_ADDRESS names the frontend (TEMPORAL_ADDRESS stays the dev server's, as other
// groups' setup sets it in the same run); NIU_TEST_CLUSTER_LOG=1 prints the cluster's output.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startCluster, type Cluster } from '../../scripts/cluster/temporal-cluster';
import { bundleWorkflowsOnce } from './workflow-bundle';

declare global {
  var __NIU_CLUSTER__: { cluster: Cluster; control: http.Server } | undefined;
}

export default async function clusterSetup(): Promise<void> {
  execFileSync('bash', [path.resolve(__dirname, '../../scripts/cluster/build.sh')], { stdio: 'inherit' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niu-cluster-'));
  const verbose = !!process.env.NIU_TEST_CLUSTER_LOG;
  const cluster = await startCluster({
    dir,
    onLog: verbose ? (source, line) => process.stderr.write(`[${source}] ${line}\n`) : undefined,
  });
  const control = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'POST' || url.pathname !== '/server/restart') {
      res.writeHead(404).end();
      return;
    }
    const signal = (url.searchParams.get('signal') ?? 'SIGTERM') as NodeJS.Signals;
    const before = cluster.server().pid;
    cluster
      .stopServer(signal)
      .then(() => cluster.startServer())
      .then(() =>
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ stoppedPid: before, pid: cluster.server().pid })),
      )
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  globalThis.__NIU_CLUSTER__ = { cluster, control };
  process.env.NIU_TEST_CLUSTER_ADDRESS = cluster.address;
  process.env.NIU_TEST_CLUSTER_CONTROL = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
  process.env.NIU_TEST_CLUSTER_SERVER_PID = String(cluster.server().pid);
  await bundleWorkflowsOnce(dir);
}
