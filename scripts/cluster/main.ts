// `npm run start:cluster`: the whole service on a self-hosted Temporal cluster instead of the dev
// server: PostgreSQL and Temporal Server (scripts/cluster/temporal-cluster.ts, data kept in
// DATA_DIR/cluster), the sandbox, two workers on one task queue and two APIs on two ports, as a
// deployment with replicas runs them. Until Ctrl-C, which stops every process (scripts/stack.ts).
// The cluster has no Web UI: the dev server's UI is the CLI's, not the server's
// (docs/deploy.md). Ports: TEMPORAL_ADDRESS's for the frontend, API_PORT and the next one for
// the APIs, WORKER_METRICS_PORT and the next one for the workers' metrics, SANDBOX_PORT.
import path from 'node:path';
import { writeDevStackNote } from '../../config/dev-stack';
import { WORKER_NODE_FLAGS, workerAllocatorEnv } from '../../worker/node-flags';
import { waitForPort } from '../ports';
import * as stack from '../stack';
import { startCluster } from './temporal-cluster';

const REPLICAS = 2;

async function main(): Promise<void> {
  const started = Date.now();
  // No UI here, so no origin to trust for the codec endpoint.
  const { config, env, caFile } = await stack.sandboxStackEnv([]);
  const frontendPort = stack.loopbackTemporalPort(config);
  const dir = path.join(config.dataDir, 'cluster');
  stack.print('stack', `starting PostgreSQL and Temporal Server on ${config.temporal.address} (data: ${dir})`);
  const cluster = await startCluster({
    dir,
    frontendPort,
    postgresPort: process.env.NIU_CLUSTER_POSTGRES_PORT ? Number(process.env.NIU_CLUSTER_POSTGRES_PORT) : undefined,
    namespaces: [config.temporal.namespace],
    onLog: (source, line) => stack.printUnlessStopping(source, line),
  });
  stack.onStop(() => cluster.stop());
  stack.stopStackOnExit('temporal', cluster.server());

  stack.startNode('sandbox', 'sandbox/main.ts', env);
  await waitForPort(config.sandbox.port, '127.0.0.1', 60_000);
  const apis: string[] = [];
  for (let i = 0; i < REPLICAS; i++) {
    const workerEnv = { ...env, WORKER_METRICS_PORT: String(config.worker.metricsPort + i) };
    stack.startNode(
      `worker-${i + 1}`,
      'worker/main.ts',
      { ...workerEnv, ...workerAllocatorEnv(env) },
      WORKER_NODE_FLAGS,
    );
    const apiPort = config.api.port + i;
    const publicUrl = i === 0 ? config.api.publicUrl : `http://${config.api.host}:${apiPort}`;
    stack.startNode(`api-${i + 1}`, 'api/main.ts', { ...env, API_PORT: String(apiPort), API_PUBLIC_URL: publicUrl });
    apis.push(publicUrl);
  }
  for (let i = 0; i < REPLICAS; i++) await waitForPort(config.api.port + i, config.api.host, 60_000);

  // `npm run request` and `npm run doctor` beside it find the first API, as beside `npm start`.
  stack.onStop(writeDevStackNote(config.dataDir, env));
  stack.print(
    'stack',
    [
      `ready in ${Math.round((Date.now() - started) / 1000)} s:`,
      ...apis.map((url, i) => `  API ${i + 1}          ${url}/v1   (OpenAPI ${url}/openapi.json, docs ${url}/docs)`),
      `  Temporal gRPC  ${cluster.address}   (Temporal Server, PostgreSQL on 127.0.0.1:${cluster.postgres.port}; no Web UI: .tools/bin/temporal workflow list --address ${cluster.address})`,
      `  Sandbox        ${config.sandbox.url}   (state: ${config.sandbox.url}/_sandbox/state, CA: ${caFile})`,
      '  Try it         npm run request -- create --environment contoso-prod --upn svc-erp@contoso.onmicrosoft.com --display-name "ERP integration"',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
}

stack.runStack(main);
