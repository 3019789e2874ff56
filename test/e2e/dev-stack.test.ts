// The stack behind `npm start` (scripts/dev.ts), on free ports and a fresh data folder: it comes
// up with the Temporal UI, the CLI's `workflow list` answers against its dev server, the API is
// ready, `npm run doctor` and the CLI run beside it with no settings, and SIGINT (Ctrl-C) stops
// every process it started, leaving none behind.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/ports';
import { TEMPORAL_CLI } from '../../scripts/temporal-server';
import { spawnEntry } from '../helpers/processes';
import type { PreflightReport } from '../../workflows/types';

const root = path.resolve(__dirname, '../..');

/**
 * Runs an entry point the way another terminal beside `npm start` would: only the data folder
 * shared, none of the sandbox's settings (they come from the stack's note, config/dev-stack.ts).
 */
async function runBeside(dataDir: string, entry: string, args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  for (const name of [
    'NIU_SANDBOX',
    'KEYVAULT_URL',
    'SANDBOX_URL',
    'SANDBOX_PORT',
    'API_HOST',
    'API_PORT',
    'API_PUBLIC_URL',
  ]) {
    delete env[name];
  }
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return stdout;
}

/** Every process whose parent chain leads to `pid` (read from /proc). */
function descendants(pid: number): number[] {
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
function running(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return null;
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return null;
  }
}

interface StartedStack {
  stack: ChildProcess;
  ports: { temporalPort: number; uiPort: number; apiPort: number };
  dataDir: string;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * Starts scripts/dev.ts on free ports and waits for "ready". Ports found free can be taken
 * before the stack binds them (the dev server itself picks random free ports for its HTTP API
 * and metrics first, and once took the UI port chosen here): then it tries new ports, twice at
 * most. Any other failure fails at once.
 */
async function startOnFreePorts(): Promise<StartedStack> {
  for (let attempt = 1; ; attempt++) {
    const [temporalPort, uiPort, apiPort, sandboxPort, metricsPort] = (await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    )) as [number, number, number, number, number];
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'niu-devstack-'));
    const run = spawnEntry('scripts/dev.ts', {
      DATA_DIR: dataDir,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      TEMPORAL_UI_PORT: String(uiPort),
      API_PORT: String(apiPort),
      SANDBOX_PORT: String(sandboxPort),
      WORKER_METRICS_PORT: String(metricsPort),
      WORKER_WORKFLOW_BUNDLE: process.env.NIU_TEST_WORKFLOW_BUNDLE,
    });
    const exited = run.exited.then((exit) => exit.code);
    try {
      await run.waitForOutput(/\[stack\]\s+ready:/, 120_000);
      return { stack: run.child, ports: { temporalPort, uiPort, apiPort }, dataDir, output: run.output, exited };
    } catch (err) {
      if (run.running()) {
        run.child.kill('SIGKILL');
        throw err;
      }
    }
    if (attempt >= 3 || !/address already in use/.test(run.output())) {
      throw new Error(`stack not ready:\n${run.output()}`);
    }
  }
}

test('the dev stack comes up wired together and Ctrl-C leaves no process behind', async () => {
  const started = await startOnFreePorts();
  const { stack, dataDir, exited } = started;
  const { temporalPort, uiPort, apiPort } = started.ports;
  try {
    const output = started.output();
    // The pieces the README points at.
    expect(output).toContain(`Temporal UI    http://127.0.0.1:${uiPort}`);
    expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${apiPort}/readyz`)).status).toBe(200);
    const list = execFileSync(
      TEMPORAL_CLI,
      ['workflow', 'list', '--address', `127.0.0.1:${temporalPort}`, '-o', 'json'],
      {
        encoding: 'utf8',
      },
    );
    expect(Array.isArray(JSON.parse(list || '[]'))).toBe(true);
    // Temporal's SQLite file is in the data folder, so workflows survive a restart.
    expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(['temporal.db', 'sandbox']));

    // Beside it, the doctor checks the sandbox and passes, and the CLI reaches the API.
    const report = JSON.parse(await runBeside(dataDir, 'scripts/doctor.ts', ['--json'])) as PreflightReport;
    expect(report.checks.filter((check) => !check.ok)).toEqual([]);
    expect(report.ready).toBe(true);
    expect(await runBeside(dataDir, 'cli/main.ts', ['list'])).toContain('(no requests)');

    const children = descendants(stack.pid!);
    // temporal, sandbox, worker and api (each a process group of its own) at least.
    expect(children.length).toBeGreaterThanOrEqual(4);
    stack.kill('SIGINT');
    expect(await exited).toBe(0);
    // Helpers such as esbuild's service process end when their parent's pipe closes: allow a moment.
    const until = Date.now() + 5_000;
    while (children.some((pid) => running(pid)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(children.map(running).filter(Boolean)).toEqual([]);
    expect(started.output()).toMatch(/\[stack\]\s+stopped/);
    // A stopped stack leaves no note for later commands to follow.
    expect(existsSync(path.join(dataDir, 'dev-stack.json'))).toBe(false);
  } finally {
    if (stack.exitCode === null) stack.kill('SIGKILL');
    for (const pid of descendants(stack.pid!)) process.kill(pid, 'SIGKILL');
  }
}, 180_000);
