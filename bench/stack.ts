// Everything the benchmarks run against, as real processes on free ports: a Temporal dev server
// on a fresh SQLite file (or, with BENCH_TEMPORAL=cluster, the self-hosted cluster of
// scripts/cluster/: PostgreSQL and Temporal Server, built by scripts/cluster/build.sh), sandboxes (sandbox/main.ts, in memory), workers and APIs
// (test/helpers/processes.ts). Each piece is stopped by `stop()`, also after a failure.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { ensureCertificates } from '../sandbox/ca';
import { freePort, waitForPort } from '../scripts/ports';
import { loadConfig } from '../config';
import { startDevServer } from '../scripts/temporal-server';
import { startCluster } from '../scripts/cluster/temporal-cluster';
import { clientCredentialsToken } from '../test/helpers/api';
import {
  killAll,
  spawnApi,
  spawnEntry,
  spawnWorker,
  type ApiProcess,
  type ChildRun,
  type WorkerProcess,
} from '../test/helpers/processes';
import { sandboxControl, type SandboxControl } from '../test/helpers/sandbox';

export interface BenchSandbox {
  url: string;
  control: SandboxControl;
  run: ChildRun;
  operatorToken(): Promise<string>;
}

/** The Temporal server under test: its frontend and its process (whose CPU bench/cpu.ts reads). */
export interface BenchServer {
  address: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface BenchStack {
  dir: string;
  server: BenchServer;
  client: Client;
  /** Bundle of bench/workflows.ts: the service's workflows plus the no-op baseline. */
  bundlePath: string;
  sandbox(): Promise<BenchSandbox>;
  worker(options: { sandbox: BenchSandbox; taskQueue: string; bench?: boolean }): Promise<WorkerProcess>;
  api(options: {
    sandbox: BenchSandbox;
    taskQueue: string;
    workflowTiming: Record<string, number>;
  }): Promise<ApiProcess>;
  stop(): Promise<void>;
}

export async function startBenchStack(log: (line: string) => void): Promise<BenchStack> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niu-bench-'));
  const children: ChildRun[] = [];
  const server = await startServer(dir, log);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  log('bundling the workflows');
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);

  return {
    dir,
    server,
    client,
    bundlePath,
    async sandbox() {
      const sandboxPort = await freePort();
      const url = `https://127.0.0.1:${sandboxPort}`;
      const run = spawnEntry('sandbox/main.ts', { SANDBOX_PORT: String(sandboxPort), SANDBOX_URL: url }, [
        '--memory',
        '--quiet',
      ]);
      children.push(run);
      await waitForPort(sandboxPort, '127.0.0.1', 60_000);
      let token: Promise<string> | undefined;
      return {
        url,
        control: sandboxControl(url),
        run,
        operatorToken: () => (token ??= clientCredentialsToken(url, 'operator-client', 'operator-secret')),
      };
    },
    async worker({ sandbox, taskQueue, bench }) {
      const w = await spawnWorker({
        entry: bench ? 'bench/worker.ts' : 'worker/main.ts',
        sandboxUrl: sandbox.url,
        taskQueue,
        temporalAddress: server.address,
        // Quiet: a thousand requests would otherwise log thousands of lines.
        logLevel: 'WARN',
        env: { WORKER_WORKFLOW_BUNDLE: bundlePath },
      });
      children.push(w);
      // The bench worker says when it polls; the service's worker opens its metrics endpoint first.
      if (bench) await w.waitForOutput(/worker started/, 120_000);
      else await w.ready(120_000);
      return w;
    },
    async api({ sandbox, taskQueue, workflowTiming }) {
      const a = await spawnApi({ sandboxUrl: sandbox.url, taskQueue, temporalAddress: server.address, workflowTiming });
      children.push(a);
      return a;
    },
    async stop() {
      await killAll(children);
      await connection.close().catch(() => undefined);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The dev server on a fresh SQLite file, or with BENCH_TEMPORAL=cluster the cluster on a fresh database. */
async function startServer(dir: string, log: (line: string) => void): Promise<BenchServer> {
  if (process.env.BENCH_TEMPORAL === 'cluster') {
    log('starting PostgreSQL and Temporal Server (BENCH_TEMPORAL=cluster)');
    const cluster = await startCluster({ dir });
    // The server's CPU is the server process's; PostgreSQL's (its own processes) is not counted.
    return { address: cluster.address, process: cluster.server(), stop: () => cluster.stop() };
  }
  const [port, uiPort] = [await freePort(), await freePort()];
  log('starting the Temporal dev server');
  return startDevServer({ port, uiPort, dbFile: path.join(dir, 'temporal.db') });
}

/**
 * Runs a bench entry point with the sandbox's CA trusted from process start (NODE_EXTRA_CA_CERTS
 * is read once): without it, runs again as a child that has it. The children inherit it too.
 */
export function runTrustingSandboxCa(main: () => Promise<void>): void {
  const entry = async (): Promise<void> => {
    const { caFile } = await ensureCertificates(path.join(loadConfig(process.env, 'sandbox').dataDir, 'sandbox'));
    if (process.env.NODE_EXTRA_CA_CERTS !== caFile) {
      const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
        stdio: 'inherit',
        env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
      });
      process.exit(child.status ?? 1);
    }
    await main();
  };
  entry().catch((err: unknown) => {
    process.stderr.write(
      `benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)} ${String((err as { cause?: unknown })?.cause ?? '')}\n`,
    );
    process.exit(1);
  });
}
