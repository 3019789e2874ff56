// The Temporal UI configured with the API's codec endpoint, as the dev stack starts it
// (scripts/dev.ts: `--ui-codec-endpoint <api>/codec`, the UI's loopback origin trusted): payloads
// are encrypted in Temporal, and the operator's browser shows them decoded, because the UI
// sends them to /codec/decode. A dev server of its own (the UI setting is a server flag), an
// in-process worker and API with the same keys. Screenshots go to test-results/.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { launchChromium } from '../helpers/browser';
import { startTestSandbox, type Sandbox } from '../helpers/sandbox';
import {
  provisionInput,
  sandboxControl,
  startProvision,
  startTestWorker,
  testTaskQueue,
  type TestWorker,
} from '../helpers/worker';
import { startDevServer, type DevServer } from '../../scripts/temporal-server';
import { freePort } from '../../scripts/ports';
import { buildApp } from '../../api/app';
import { loadConfig } from '../../config';
import { isEncrypted } from '../../worker/codec';

jest.setTimeout(180_000);

const artifacts = path.resolve(__dirname, '../../test-results');
const displayName = `Codec UI ${randomBytes(3).toString('hex')}`;
const upn = `svc-codec-ui-${Date.now().toString(36)}@contoso.onmicrosoft.com`;
let server: DevServer;
let sandbox: Sandbox;
let tw: TestWorker;
let app: FastifyInstance;
let browser: Browser;
let handle: WorkflowHandle;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  const [port, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const uiOrigin = `http://127.0.0.1:${uiPort}`;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  server = await startDevServer({
    port,
    uiPort,
    dbFile: path.join(mkdtempSync(path.join(os.tmpdir(), 'niu-codec-ui-')), 'temporal.db'),
    extraArgs: ['--ui-codec-endpoint', `${apiUrl}/codec`],
  });
  // This file's own Temporal and keys (jest gives each test file its own process.env).
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.CODEC_KEYS = `ui-test=${randomBytes(32).toString('base64')}`;
  sandbox = await startTestSandbox();
  await sandboxControl(sandbox.url).config({ syncDelayMs: 300, licensePropagationMs: 100 });
  tw = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue: testTaskQueue('codec-ui') });
  const config = loadConfig({
    ...process.env,
    NIU_SANDBOX: 'true',
    SANDBOX_URL: sandbox.url,
    API_PORT: String(apiPort),
    LOG_LEVEL: 'error',
    CODEC_TRUSTED_ORIGINS: uiOrigin,
    API_CORS_ORIGINS: uiOrigin,
  });
  app = await buildApp({ config });
  await app.listen({ host: '127.0.0.1', port: apiPort });
  handle = await startProvision(tw, provisionInput(upn, { displayName }));
  await handle.result();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await tw?.stop();
  await sandbox?.close();
  await server?.stop();
});

test('the workflow input is encrypted in Temporal, and the UI shows it decoded through /codec/decode', async () => {
  // What Temporal holds: ciphertext.
  const connection = await Connection.connect({ address: server.address });
  try {
    const events = (await new Client({ connection }).workflow.getHandle(handle.workflowId).fetchHistory()).events!;
    const input = events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    expect(isEncrypted(input as never)).toBe(true);
    expect(Buffer.from(input.data!).toString('utf8')).not.toContain(displayName);
  } finally {
    await connection.close();
  }

  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const decodes: number[] = [];
  page.on('response', (res) => {
    if (res.url().endsWith('/codec/decode')) decodes.push(res.status());
  });
  try {
    await page.goto(`${server.uiUrl}/namespaces/default/workflows/${encodeURIComponent(handle.workflowId)}`);
    await page.getByText('provisionNonInteractiveUser').first().waitFor({ timeout: 30_000 });
    // Input and result, decoded: the display name from the input, the step result's fields.
    await page.getByText(displayName).first().waitFor({ timeout: 30_000 });
    await page
      .getByText(/entraObjectId/)
      .first()
      .waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(artifacts, 'codec-ui-decoded.png'), fullPage: true });
    expect(decodes.length).toBeGreaterThan(0);
    expect(decodes.every((s) => s === 200)).toBe(true);
    const text = await page.locator('body').innerText();
    expect(text).not.toContain('binary/encrypted');
  } catch (err) {
    await page.screenshot({ path: path.join(artifacts, 'codec-ui-failure.png'), fullPage: true });
    throw err;
  } finally {
    await page.close();
  }
});
