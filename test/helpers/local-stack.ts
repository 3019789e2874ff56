// The local stacks (`npm start`: scripts/dev.ts; `npm run start:cluster`: scripts/cluster/main.ts)
// run by their tests as a user runs them: on free ports and a fresh data folder, until "ready",
// then stopped with SIGINT (Ctrl-C), after which no process they started may be left. Shared by
// test/e2e/dev-stack.test.ts and test/cluster/start-cluster.test.ts. Processes are read from
// /proc (Linux).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/ports';
import { TEMPORAL_CLI } from '../../scripts/temporal-server';
import { spawnEntry, type ChildRun } from './processes';

/** Every process id in /proc with its parent's. */
function parentsByPid(): Map<number, number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // the process ended while we looked
    }
  }
  return parents;
}

/** Every process whose parent chain leads to `pid` (read from /proc). */
export function descendants(pid: number): number[] {
  const parents = parentsByPid();
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent !== p) continue;
      found.push(child);
      walk(child);
    }
  };
  walk(pid);
  return found;
}

/** The command line of a live (not zombie) process, or null once it is gone. */
export function running(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return null;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return null;
  }
}

/**
 * Live processes that name `dir` on their command line or work in it. A process whose parent
 * died is adopted by init and is no descendant any more: PostgreSQL's backends, which run as
 * the `postgres` user and work in their data folder, are still found this way, and so is a
 * server given a file of the folder.
 */
export function processesUsing(dir: string): number[] {
  const found: number[] = [];
  for (const pid of parentsByPid().keys()) {
    if (pid === process.pid) continue;
    const cmdline = running(pid);
    if (cmdline === null) continue;
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // gone, or not ours to read
    }
    if (cmdline.includes(dir) || cwd === dir || cwd.startsWith(dir + path.sep)) found.push(pid);
  }
  return found;
}

/** Runs the Temporal CLI (the one the stacks' "ready" lines point at) against `address`; its stdout. */
export async function temporalCli(address: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(TEMPORAL_CLI, [...args, '--address', address], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return stdout;
}

/** A free port whose next one is free too (for a stack that puts replicas on consecutive ports). */
export async function freePortPair(): Promise<number> {
  const listens = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.unref();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    if (port < 65_535 && (await listens(port + 1))) return port;
  }
  throw new Error('no two consecutive free ports on 127.0.0.1');
}

/** The ports both stacks take (a stack of replicas takes the next ones too). */
export interface Ports {
  temporal: number;
  api: number;
  sandbox: number;
  workerMetrics: number;
}

export interface LocalStack<P extends Ports = Ports> {
  run: ChildRun;
  /** The ports the stack was given, as `ports()` returned them. */
  ports: P;
  dataDir: string;
  /** The stack's exit code. */
  exited: Promise<number | null>;
  /** Its descendants as seen before it was stopped: once it exits, no tree leads to them. */
  seen: Set<number>;
}

export interface LocalStackOptions<P extends Ports> {
  /** scripts/dev.ts or scripts/cluster/main.ts. */
  entry: string;
  /** The prefix of the data folder's name in the temporary folder. */
  name: string;
  /** Free ports, picked anew for each attempt. */
  ports: () => Promise<P>;
  /** The stack's own variables for these ports. */
  env: (ports: P) => Record<string, string | undefined>;
  readyTimeoutMs: number;
}

/**
 * Starts a stack on free ports and waits for its "ready" line. Ports found free can be taken
 * before the stack binds them (the dev server itself picks random free ports for its HTTP API
 * and metrics first, and once took the UI port chosen here; the cluster's server picks several):
 * then it tries new ports, twice at most. Any other failure fails at once.
 */
export async function startLocalStack<P extends Ports>(options: LocalStackOptions<P>): Promise<LocalStack<P>> {
  for (let attempt = 1; ; attempt++) {
    const ports = await options.ports();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), `${options.name}-`));
    const run = spawnEntry(options.entry, {
      DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
      API_PORT: String(ports.api),
      SANDBOX_PORT: String(ports.sandbox),
      WORKER_METRICS_PORT: String(ports.workerMetrics),
      // The bundle the global setup made; without it each worker bundles workflows/ (seconds).
      WORKER_WORKFLOW_BUNDLE: process.env.NIU_TEST_WORKFLOW_BUNDLE,
      ...options.env(ports),
    });
    const exited = run.exited.then((exit) => exit.code);
    try {
      await run.waitForOutput(/\[stack\]\s+ready/, options.readyTimeoutMs);
      return { run, ports, dataDir, exited, seen: new Set() };
    } catch (err) {
      // Still running: it was not ready in time. Else it exited, perhaps on a port taken.
      const timedOut = run.running();
      await cleanUp({ run, ports, dataDir, exited, seen: new Set() });
      if (timedOut) throw err;
    }
    if (attempt >= 3 || !/address already in use/i.test(run.output())) {
      throw new Error(`stack not ready:\n${run.output()}`);
    }
  }
}

/**
 * Ctrl-C: sends SIGINT to a stack that runs at least `atLeast` processes and expects it to exit
 * with 0 after saying so, with none of them left (its descendants as they were before the
 * signal, and whatever still uses its data folder: processesUsing), and without the note it
 * leaves while running (config/dev-stack.ts), which later commands would follow.
 */
export async function expectCtrlCStopsEverything(stack: LocalStack, atLeast: number): Promise<void> {
  const children = descendants(stack.run.pid);
  children.forEach((pid) => stack.seen.add(pid));
  expect(children.length).toBeGreaterThanOrEqual(atLeast);
  stack.run.child.kill('SIGINT');
  expect(await stack.exited).toBe(0);
  // Helpers such as esbuild's service process end when their parent's pipe closes: allow a moment.
  const left = () => [...new Set([...children, ...processesUsing(stack.dataDir)])].filter((pid) => running(pid));
  const until = Date.now() + 5_000;
  while (left().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  expect(left().map((pid) => `${pid}: ${running(pid)}`)).toEqual([]);
  expect(stack.run.output()).toMatch(/\[stack\]\s+stopped/);
  expect(existsSync(path.join(stack.dataDir, 'dev-stack.json'))).toBe(false);
}

/**
 * Kills the stack and whatever it left, then removes its data folder (for finally blocks: a
 * cluster's PostgreSQL data is some 50 MB a run; a failure's output says what went wrong).
 */
export async function cleanUp(stack: LocalStack): Promise<void> {
  const pids = [...descendants(stack.run.pid), ...stack.seen, ...processesUsing(stack.dataDir)].filter((pid) =>
    running(pid),
  );
  if (stack.run.running()) stack.run.child.kill('SIGKILL');
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await stack.run.exited;
  rmSync(stack.dataDir, { recursive: true, force: true });
}
