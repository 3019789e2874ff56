// `npm run sandbox` (sandbox/main.ts) as a real process: it prints what a user needs, serves
// the real clients, persists its state to DATA_DIR/sandbox/state.json across a restart, and
// stops cleanly on SIGTERM.
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from '../../scripts/ports';
import { spawnCaptured } from '../helpers/processes';
import { DOMAIN, type Sandbox, createUser, graphClient, sandboxControl, testCertDir } from '../helpers/sandbox';

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts sandbox/main.ts through tsx's CLI, as `npm run sandbox` does, and resolves once it printed its seeded clients. */
async function runMain(env: Record<string, string>, args: string[] = []): Promise<Running> {
  const run = spawnCaptured(process.execPath, [require.resolve('tsx/cli'), 'sandbox/main.ts', ...args], env, 'sandbox');
  await run.waitForOutput(/reader-client \/ reader-secret/, 30_000);
  return { child: run.child, output: run.output, exited: run.exited.then((exit) => exit.code) };
}

/** The view of a separately running sandbox that the client helpers need. */
function asSandbox(url: string): Sandbox {
  return {
    url,
    port: Number(new URL(url).port),
    caFile: '',
    tenantId: '6e1f3b5a-7c2d-4e8f-9a0b-1c2d3e4f5a6b',
    tenantName: 'contoso.onmicrosoft.com',
    clients: [{ clientId: 'provisioner-client', secret: 'provisioner-secret', roles: {} }],
    apiClientId: '',
    clientCertificateFile: '',
    federationIssuer: `${url}/_federation`,
    managedIdentity: { endpoint: `${url}/msi/token`, header: '' },
    close: async () => undefined,
  };
}

/** A fresh data folder holding the test CA (trusted through NODE_EXTRA_CA_CERTS), so the sandbox mints no other. */
function dataDirWithTestCa(): string {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'niu-sandbox-main-'));
  mkdirSync(path.join(dataDir, 'sandbox'));
  for (const f of ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem']) {
    copyFileSync(path.join(testCertDir(), f), path.join(dataDir, 'sandbox', f));
  }
  return dataDir;
}

let running: Running | null = null;
afterEach(async () => {
  // SIGTERM (not SIGKILL): tsx relays it to the sandbox process, which would outlive a killed tsx.
  if (running && running.child.exitCode === null) {
    running.child.kill('SIGTERM');
    await running.exited;
  }
  running = null;
});

test('npm run sandbox prints its URL, tenant, CA file and clients; persists state; stops on SIGTERM', async () => {
  const dataDir = dataDirWithTestCa();
  const port = await freePort();
  const env = { DATA_DIR: dataDir, SANDBOX_PORT: String(port) };
  const url = `https://127.0.0.1:${port}`;

  running = await runMain(env, ['--quiet']);
  const out = running.output();
  expect(out).toContain(`listening at ${url}`);
  expect(out).toContain('contoso.onmicrosoft.com (id 6e1f3b5a-7c2d-4e8f-9a0b-1c2d3e4f5a6b)');
  expect(out).toContain(`CA file:       ${path.join(dataDir, 'sandbox', 'ca.pem')}`);
  for (const c of [
    'provisioner-client / provisioner-secret',
    'operator-client / operator-secret',
    'reader-client / reader-secret',
  ]) {
    expect(out).toContain(c);
  }
  const id = await createUser(graphClient(asSandbox(url)), `persisted@${DOMAIN}`);
  running.child.kill('SIGTERM');
  expect(await running.exited).toBe(0);
  expect(running.output()).toContain('Sandbox stopping (SIGTERM)');
  const stateFile = path.join(dataDir, 'sandbox', 'state.json');
  expect(existsSync(stateFile)).toBe(true);
  expect(readFileSync(stateFile, 'utf8')).toContain(id);

  running = await runMain(env, ['--quiet']);
  expect((await sandboxControl(url).state()).users.map((u) => u.id)).toEqual([id]);
  running.child.kill('SIGTERM');
  expect(await running.exited).toBe(0);

  running = await runMain(env, ['--quiet', '--fresh']);
  expect((await sandboxControl(url).state()).users).toEqual([]);
});

test('a request sent as soon as the port opens is answered once the sandbox is ready, not with a 500', async () => {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const run = spawnCaptured(
    process.execPath,
    [require.resolve('tsx/cli'), 'sandbox/main.ts', '--memory', '--quiet'],
    { DATA_DIR: dataDirWithTestCa(), SANDBOX_PORT: String(port) },
    'sandbox',
  );
  running = { child: run.child, output: run.output, exited: run.exited.then((exit) => exit.code) };
  // Only the port, as the benchmarks and compose health checks wait: its issuers are made after it opens.
  await waitForPort(port, '127.0.0.1', 30_000);
  await sandboxControl(url).config({ syncDelayMs: 1_000, clients: { 'provisioner-client': { managementApp: true } } });
  expect((await sandboxControl(url).state()).users).toEqual([]);
});
