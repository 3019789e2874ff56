// The stack behind `npm start` (scripts/dev.ts), on free ports and a fresh data folder: it comes
// up with the Temporal UI, the CLI's `workflow list` answers against its dev server, the API is
// ready, `npm run doctor` and the CLI run beside it with no settings, and SIGINT (Ctrl-C) stops
// every process it started, leaving none behind.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/ports';
import { cleanUp, expectCtrlCStopsEverything, startLocalStack, temporalCli } from '../helpers/local-stack';
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

/** Starts scripts/dev.ts on free ports and a fresh data folder; resolves at "ready". */
function startDevStack() {
  return startLocalStack({
    entry: 'scripts/dev.ts',
    name: 'niu-devstack',
    ports: async () => {
      const [temporal, ui, api, sandbox, workerMetrics] = (await Promise.all(
        Array.from({ length: 5 }, () => freePort()),
      )) as [number, number, number, number, number];
      return { temporal, ui, api, sandbox, workerMetrics };
    },
    env: (ports) => ({ TEMPORAL_UI_PORT: String(ports.ui) }),
    readyTimeoutMs: 120_000,
  });
}

test('the dev stack comes up wired together and Ctrl-C leaves no process behind', async () => {
  const stack = await startDevStack();
  const { dataDir } = stack;
  const { temporal: temporalPort, ui: uiPort, api: apiPort } = stack.ports;
  try {
    const output = stack.run.output();
    // The pieces the README points at.
    expect(output).toContain(`Temporal UI    http://127.0.0.1:${uiPort}`);
    expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${apiPort}/readyz`)).status).toBe(200);
    const list = await temporalCli(`127.0.0.1:${temporalPort}`, ['workflow', 'list', '-o', 'json']);
    expect(Array.isArray(JSON.parse(list || '[]'))).toBe(true);
    // Temporal's SQLite file is in the data folder, so workflows survive a restart.
    expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(['temporal.db', 'sandbox']));

    // Beside it, the doctor checks the sandbox and passes, and the CLI reaches the API.
    const report = JSON.parse(await runBeside(dataDir, 'scripts/doctor.ts', ['--json'])) as PreflightReport;
    expect(report.checks.filter((check) => !check.ok)).toEqual([]);
    expect(report.ready).toBe(true);
    expect(await runBeside(dataDir, 'cli/main.ts', ['list'])).toContain('(no requests)');

    // temporal, sandbox, worker and api (each a process group of its own) at least.
    await expectCtrlCStopsEverything(stack, 4);
  } finally {
    await cleanUp(stack);
  }
}, 180_000);
