// Starts the Temporal CLI's dev server (real server, SQLite, Web UI) as a child process.
// Used by the dev stack (scripts/dev.ts) and by the tests' global setup.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { captureLines } from './child-lines';
import { freePort } from './ports';

export const SEARCH_ATTRIBUTES = ['NiuEnvironment', 'NiuUserPrincipalName', 'NiuStep'] as const;

/** The CLI that scripts/temporal-cli.sh builds (NIU_TEMPORAL_CLI names another binary, as it does there). */
export const TEMPORAL_CLI = process.env.NIU_TEMPORAL_CLI || path.resolve(__dirname, '..', '.tools', 'bin', 'temporal');

export interface DevServerOptions {
  port: number;
  uiPort: number;
  /** SQLite file; workflows survive a restart on the same file. */
  dbFile: string;
  namespace?: string;
  /** More namespaces to create, each with the search attributes (tests isolate with them). */
  extraNamespaces?: string[];
  /** Extra UI settings, e.g. the codec endpoint. */
  extraArgs?: string[];
  /** Where the server's own log lines go (default: ignored). */
  onLog?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts the dev server and waits until it serves. A server that exits before serving is started
 * once more, with fresh ports of its own: a bench run saw one exit with code 2 at start, which 25
 * starts in a row did not reproduce; its last output lines are in the error either way.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  try {
    return await startDevServerOnce(options);
  } catch (err) {
    if (!(err instanceof DevServerExited)) throw err;
    options.onLog?.(`temporal dev server exited before serving, starting it once more: ${err.message}`);
    return startDevServerOnce(options);
  }
}

class DevServerExited extends Error {}

async function startDevServerOnce(options: DevServerOptions): Promise<DevServer> {
  if (!existsSync(TEMPORAL_CLI)) {
    throw new Error(`Temporal CLI missing at ${TEMPORAL_CLI}: run scripts/temporal-cli.sh (npm run setup)`);
  }
  mkdirSync(path.dirname(options.dbFile), { recursive: true });
  // Left to itself the server picks random free ports for its HTTP API and metrics before it
  // binds the UI, and once took the UI port a caller had just found free: choose them here.
  const [httpPort, metricsPort] = [await freePort(), await freePort()];
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--http-port',
    String(httpPort),
    '--metrics-port',
    String(metricsPort),
    '--db-filename',
    options.dbFile,
    ...[options.namespace ?? 'default', ...(options.extraNamespaces ?? [])].flatMap((ns) => ['--namespace', ns]),
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
    // No history cache setting: Server 1.29 keeps one cache per host (history.hostLevelCacheMaxSize,
    // 128,000 workflows by default), room for the thousand parked requests of the benchmarks; the
    // per-shard history.cacheMaxSize set here before is no longer read (docs/deploy.md).
    // Eager activity dispatch (off by default in the server): the answer to a workflow task that
    // schedules an activity carries the activity's task when the worker has a free slot, which
    // saves the activity its trip through the task queue.
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    // SQLite's defaults (rollback journal, synchronous=FULL) sync the file several times per
    // transaction, and every workflow task and activity transition is one: on this machine a
    // workflow task waited 173 ms on average to reach the worker, 59 ms with a write-ahead log
    // synced at checkpoints, and 20 requests with a 20 s sync delay finished in 25.6 s instead of
    // 29 s (`npm run bench:profile`). WAL with synchronous=NORMAL survives a killed server (the
    // fault suite kills it mid-run); only a power cut can lose the last transactions, which a
    // development server can afford.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(TEMPORAL_CLI, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lastLines = captureLines(child, options.onLog);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${options.port}`;
  const server: DevServer = {
    address,
    uiUrl: `http://127.0.0.1:${options.uiPort}`,
    process: child,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await waitUntilServing(address, child, 60_000);
  } catch (err) {
    await server.stop('SIGKILL');
    const output = lastLines.length ? `; its last output:\n${lastLines.join('\n')}` : '';
    if (child.exitCode !== null && child.signalCode === null) {
      throw new DevServerExited(`temporal dev server exited with code ${child.exitCode}${output}`);
    }
    throw err;
  }
  return server;
}

/** Waits until the frontend answers GetSystemInfo, i.e. it is ready for clients and workers. */
export async function waitUntilServing(address: string, child?: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`temporal dev server exited with code ${child.exitCode}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`temporal dev server at ${address} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}
