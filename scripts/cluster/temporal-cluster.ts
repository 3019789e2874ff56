// A self-hosted Temporal cluster on this machine, without Docker: PostgreSQL of its own
// (scripts/cluster/postgres.ts), the schema, Temporal Server v1.29.1 (all four services in one
// process, several history shards) from scripts/cluster/config/cluster.yaml, then the namespace
// and the search attributes. The schema and the namespace are set up by the very scripts the
// compose stack runs (scripts/compose/*.sh, see SETUP), and the server reads the compose
// stack's dynamic configuration. Used by `npm run start:cluster` (scripts/cluster/main.ts) and
// by the cluster test group (test/helpers/cluster-setup.ts). The binaries come from
// scripts/cluster/build.sh.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { captureLines } from '../child-lines';
import { freePort, freePortBelow } from '../ports';
import { TEMPORAL_CLI, waitUntilServing } from '../temporal-server';
import { startPostgres, type Postgres } from './postgres';

const root = path.resolve(__dirname, '../..');
export const SERVER_VERSION = '1.29.1';
const tools = path.join(root, '.tools');
export const TEMPORAL_SERVER = path.join(tools, 'bin', 'temporal-server');
export const TEMPORAL_SQL_TOOL = path.join(tools, 'bin', 'temporal-sql-tool');
export const TEMPORAL_SCHEMA_DIR = path.join(tools, 'temporal-schema', `v${SERVER_VERSION}`);

/** The set-up steps docker-compose.yml runs too (it mounts scripts/compose; test/integration/compose.test.ts checks). */
export const SETUP = {
  schema: path.join(root, 'scripts', 'compose', 'setup-postgres.sh'),
  namespace: path.join(root, 'scripts', 'compose', 'setup-namespace.sh'),
  dynamicConfig: path.join(root, 'scripts', 'compose', 'dynamicconfig.yaml'),
} as const;

/** The server's configuration folder (relative to the checkout) and the file's name in it. */
export const SERVER_CONFIG = { dir: path.join('scripts', 'cluster', 'config'), env: 'cluster' } as const;

export type ClusterLogSource = 'postgres' | 'temporal' | 'setup';

export interface ClusterOptions {
  /** Where PostgreSQL keeps its data (<dir>/postgres): a cluster on the same folder finds its workflows again. */
  dir: string;
  /** The frontend's gRPC port (default: a free one); every other port of the server is a free one. */
  frontendPort?: number;
  postgresPort?: number;
  /** History shards (4): fixed when the database is first set up. */
  shards?: number;
  /** Namespaces to register, each with the search attributes (default: `default`). */
  namespaces?: string[];
  onLog?: (source: ClusterLogSource, line: string) => void;
}

export interface Cluster {
  /** The frontend, host:port. */
  address: string;
  postgres: Postgres;
  /** The server process running now (another one after a restart). */
  server(): ChildProcess;
  /** Stops the server (SIGTERM, or the signal given; SIGKILL after 15 s). PostgreSQL keeps running. */
  stopServer(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again with the same configuration and waits until it serves. */
  startServer(): Promise<void>;
  /** Stops the server, then PostgreSQL. */
  stop(): Promise<void>;
}

/** Runs one of the set-up scripts with `env`; rejects with its output when it fails. */
function runScript(script: string, env: Record<string, string>, onLog?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        output += chunk;
        for (const line of chunk.split('\n')) if (line.trim()) onLog?.(line);
      });
    }
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(script)} exited with ${code}:\n${output}`)),
    );
  });
}

/**
 * Waits until the frontend knows the namespace and its search attributes: a namespace created a
 * moment ago reaches the frontend's cache only at its next refresh (every 10 s).
 */
async function waitForNamespace(address: string, namespace: string, timeoutMs = 60_000): Promise<void> {
  const connection = await Connection.connect({ address });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await connection.workflowService.countWorkflowExecutions({ namespace, query: 'NiuStep = "none"' });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`namespace ${namespace} not usable at ${address}: ${String(err)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await connection.close();
  }
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  for (const [what, file] of [
    ['Temporal Server', TEMPORAL_SERVER],
    ['the schema tool', TEMPORAL_SQL_TOOL],
    ['the schema', TEMPORAL_SCHEMA_DIR],
    ['the Temporal CLI', TEMPORAL_CLI],
  ]) {
    if (!existsSync(file!))
      throw new Error(`${what} missing at ${file}: run scripts/cluster/build.sh and scripts/temporal-cli.sh`);
  }
  const log = options.onLog;
  const postgres = await startPostgres({
    dir: path.join(options.dir, 'postgres'),
    port: options.postgresPort ?? (await freePort()),
    user: 'temporal',
    password: 'temporal',
    onLog: (line) => log?.('postgres', line),
  });
  // What the set-up scripts and the server's configuration read (the admin-tools' names).
  const database = {
    POSTGRES_SEEDS: postgres.host,
    DB_PORT: String(postgres.port),
    POSTGRES_USER: postgres.user,
    POSTGRES_PWD: postgres.password,
  };
  // The membership ports are stored in a smallint column: below 32768.
  const membershipPort = () => freePortBelow(32_768);
  const ports = {
    FRONTEND_GRPC_PORT: options.frontendPort ?? (await freePort()),
    FRONTEND_HTTP_PORT: await freePort(),
    FRONTEND_MEMBERSHIP_PORT: await membershipPort(),
    HISTORY_GRPC_PORT: await freePort(),
    HISTORY_MEMBERSHIP_PORT: await membershipPort(),
    MATCHING_GRPC_PORT: await freePort(),
    MATCHING_MEMBERSHIP_PORT: await membershipPort(),
    WORKER_GRPC_PORT: await freePort(),
    WORKER_MEMBERSHIP_PORT: await membershipPort(),
    PROMETHEUS_PORT: await freePort(),
  };
  const address = `127.0.0.1:${ports.FRONTEND_GRPC_PORT}`;
  const serverEnv: Record<string, string> = {
    ...database,
    ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
    BIND_ON_IP: '127.0.0.1',
    NUM_HISTORY_SHARDS: String(options.shards ?? 4),
    DYNAMIC_CONFIG_FILE_PATH: SETUP.dynamicConfig,
  };

  let current: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const stopServer = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const child = current;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  const startServer = async () => {
    const child = spawn(
      TEMPORAL_SERVER,
      ['--root', root, '--config', SERVER_CONFIG.dir, '--env', SERVER_CONFIG.env, '--allow-no-auth', 'start'],
      { cwd: root, env: { ...process.env, ...serverEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    current = child;
    exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const last = captureLines(child, (line) => log?.('temporal', line), 30);
    try {
      await waitUntilServing(address, child, 90_000);
    } catch (err) {
      await stopServer('SIGKILL');
      throw new Error(`${String(err)}; its last output:\n${last.join('\n')}`);
    }
  };

  try {
    await runScript(
      SETUP.schema,
      { ...database, TEMPORAL_SQL_TOOL, TEMPORAL_SCHEMA_DIR, SETUP_ATTEMPTS: '30' },
      (line) => log?.('setup', line),
    );
    await startServer();
    for (const namespace of options.namespaces ?? ['default']) {
      await runScript(
        SETUP.namespace,
        { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace, TEMPORAL_CLI, SETUP_ATTEMPTS: '20' },
        (line) => log?.('setup', line),
      );
      await waitForNamespace(address, namespace);
    }
  } catch (err) {
    await stopServer();
    await postgres.stop();
    throw err;
  }
  return {
    address,
    postgres,
    server: () => current!,
    stopServer,
    startServer,
    async stop() {
      await stopServer();
      await postgres.stop();
    },
  };
}
