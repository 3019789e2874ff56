// Runs the service's own entry points (worker/main.ts, api/main.ts) as real child processes, so
// tests and benchmarks can kill them for real (SIGKILL: no shutdown code runs), stop them
// gracefully (SIGTERM) and start them again with the same settings. Output is captured for
// assertions on logs. Used by the worker-kill integration test, the fault suite and the bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, waitForPort } from '../../scripts/ports';
import { WORKER_NODE_FLAGS, workerAllocatorEnv } from '../../worker/node-flags';

const root = path.resolve(__dirname, '../..');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildRun {
  child: ChildProcess;
  pid: number;
  /** stdout + stderr so far. */
  output(): string;
  /** The JSON lines of stdout, parsed (other lines skipped). */
  jsonLines(): Record<string, unknown>[];
  exited: Promise<Exit>;
  running(): boolean;
  /** Sends the signal and waits for the exit (SIGKILL after `graceMs` if still running). */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
  /** Resolves when the output matches (rejects after timeoutMs or if the process exits first). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resident set size in bytes, from /proc/<pid>/status (VmRSS). */
  rssBytes(): number;
}

/** Starts `node --import tsx <entry>` (the Node that runs this process: 24 under npm/test.sh). */
export function spawnEntry(
  entry: string,
  env: Record<string, string | undefined>,
  args: string[] = [],
  nodeFlags: string[] = [],
): ChildRun {
  return spawnCaptured(process.execPath, [...nodeFlags, '--import', 'tsx', entry, ...args], env, entry);
}

/** Starts `command` in the checkout with this process's environment and `env`, its output captured. */
export function spawnCaptured(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  name = [command, ...args].join(' '),
): ChildRun {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    notify();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    notify();
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      notify();
      resolve({ code, signal });
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const output = () => stdout + stderr;
  return {
    child,
    pid: child.pid!,
    output,
    jsonLines: () =>
      stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited,
    running,
    async kill(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000) {
      if (running()) child.kill(signal);
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
    waitForOutput(pattern: RegExp, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (pattern.test(output())) done(resolve);
          else if (!running()) done(() => reject(new Error(`${name} exited before ${pattern}:\n${output()}`)));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`${name}: no ${pattern} in ${timeoutMs} ms:\n${output()}`))),
          timeoutMs,
        );
        const done = (fn: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          fn();
        };
        waiters.add(check);
        check();
      });
    },
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status);
      if (!kb) throw new Error(`no VmRSS for pid ${child.pid}`);
      return Number(kb[1]) * 1024;
    },
  };
}

export interface WorkerProcessOptions {
  sandboxUrl: string;
  taskQueue: string;
  /** Default: the jest run's dev server (TEMPORAL_ADDRESS). */
  temporalAddress?: string;
  /** Entry point (default worker/main.ts; the benchmark's worker adds a baseline workflow). */
  entry?: string;
  /** LOG_LEVEL of the worker (default INFO, so "worker started" is printed). */
  logLevel?: string;
  env?: Record<string, string>;
}

export interface WorkerProcess extends ChildRun {
  metricsPort: number;
  /** Waits until the worker logged that it polls its task queue. */
  ready(timeoutMs?: number): Promise<void>;
  /** The worker's Prometheus text (GET /metrics). */
  metrics(): Promise<string>;
}

export async function spawnWorker(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const metricsPort = await freePort();
  const logLevel = (options.logLevel ?? 'INFO').toUpperCase();
  const run = spawnEntry(
    options.entry ?? 'worker/main.ts',
    {
      NIU_SANDBOX: 'true',
      SANDBOX_URL: options.sandboxUrl,
      TEMPORAL_ADDRESS: options.temporalAddress ?? process.env.TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: options.taskQueue,
      WORKER_METRICS_PORT: String(metricsPort),
      // The bundle built once per test run; without it each start bundles workflows/ (seconds).
      WORKER_WORKFLOW_BUNDLE: process.env.NIU_TEST_WORKFLOW_BUNDLE ?? process.env.WORKER_WORKFLOW_BUNDLE,
      LOG_LEVEL: logLevel,
      ...workerAllocatorEnv(),
      ...options.env,
    },
    [],
    WORKER_NODE_FLAGS,
  );
  // "worker started" is logged at INFO once the Worker exists; quieter levels only show the
  // metrics endpoint, which the runtime opens a little earlier.
  const verbose = ['TRACE', 'DEBUG', 'INFO'].includes(logLevel);
  return {
    ...run,
    metricsPort,
    ready: (timeoutMs = 60_000) =>
      verbose
        ? run.waitForOutput(/"msg":"worker started"/, timeoutMs)
        : waitForPort(metricsPort, '127.0.0.1', timeoutMs),
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
  };
}

export interface ApiProcessOptions {
  sandboxUrl: string;
  taskQueue: string;
  temporalAddress?: string;
  /** Keep the port across restarts (clients keep their URL). Default: a free one. */
  port?: number;
  /** Workflow timings the API passes on (WORKFLOW_TIMING). */
  workflowTiming?: Record<string, number>;
  logLevel?: string;
  env?: Record<string, string>;
}

export interface ApiProcess extends ChildRun {
  port: number;
  url: string;
}

/** Starts api/main.ts and waits until it accepts connections. */
export async function spawnApi(options: ApiProcessOptions): Promise<ApiProcess> {
  const port = options.port ?? (await freePort());
  const run = spawnEntry('api/main.ts', {
    NIU_SANDBOX: 'true',
    SANDBOX_URL: options.sandboxUrl,
    TEMPORAL_ADDRESS: options.temporalAddress ?? process.env.TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    API_HOST: '127.0.0.1',
    API_PORT: String(port),
    // Load tests send thousands of calls a minute from one client.
    API_RATE_LIMIT_PER_MINUTE: '1000000',
    LOG_LEVEL: options.logLevel ?? 'warn',
    ...(options.workflowTiming ? { WORKFLOW_TIMING: JSON.stringify(options.workflowTiming) } : {}),
    ...options.env,
  });
  try {
    await Promise.race([
      waitForPort(port, '127.0.0.1', 60_000),
      run.exited.then((e) => {
        throw new Error(`api exited (${e.code ?? e.signal}) before listening:\n${run.output()}`);
      }),
    ]);
  } catch (err) {
    await run.kill('SIGKILL');
    throw err;
  }
  return { ...run, port, url: `http://127.0.0.1:${port}` };
}

/** Kills every process still running (for finally blocks). */
export async function killAll(runs: (ChildRun | undefined)[]): Promise<void> {
  await Promise.all(runs.map((r) => (r && r.running() ? r.kill('SIGKILL') : undefined)));
}
