// What an operator sees in the Temporal UI (the dev server's, as in `npm start`) while a real
// request waits for the Dataverse sync: the list filtered by the NiuUserPrincipalName search
// attribute, the workflow page with its readable summary and current details, and the `status`
// query's result. Screenshots are kept under test-results/ as artifacts.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import type { WorkflowHandle } from '@temporalio/client';
import { startTestSandbox, type Sandbox } from '../helpers/sandbox';
import {
  provisionInput,
  sandboxControl,
  startProvision,
  startTestWorker,
  testTaskQueue,
  waitForStatus,
  type TestWorker,
} from '../helpers/worker';

const artifacts = path.resolve(__dirname, '../../test-results');
let sandbox: Sandbox;
let tw: TestWorker;
let browser: Browser;
let handle: WorkflowHandle;
const upn = `svc-ui-${Date.now().toString(36)}@contoso.onmicrosoft.com`;

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  sandbox = await startTestSandbox();
  // The sync never happens during the test: the request stays parked in await-dataverse-user.
  await sandboxControl(sandbox.url).config({ syncDelayMs: 3_600_000, licensePropagationMs: 3_600_000 });
  tw = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue: testTaskQueue('ui') });
  handle = await startProvision(
    tw,
    provisionInput(upn, {
      timing: {
        syncTimeoutMs: 600_000,
        syncPollInitialMs: 2_000,
        syncPollMaxMs: 10_000,
        forceSyncWindowMs: 600_000,
        forceSyncIntervalMs: 5_000,
        verifySettleMs: 300,
        verifyMaxReapply: 1,
      },
    }),
  );
  await waitForStatus(handle, (doc) => doc.currentStep === 'await-dataverse-user');
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await handle?.cancel().catch(() => undefined);
  await handle?.result().catch(() => undefined);
  await tw?.stop();
  await sandbox?.close();
});

test('an operator finds the request by UPN, reads its current step and runs the status query', async () => {
  const ui = process.env.NIU_TEST_TEMPORAL_UI;
  expect(ui).toBeDefined();
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  try {
    await operatorJourney(page, ui!);
  } catch (err) {
    await page.screenshot({ path: path.join(artifacts, 'temporal-ui-failure.png'), fullPage: true });
    throw err;
  }
});

async function operatorJourney(page: Page, ui: string): Promise<void> {
  // 1. The list, filtered by the search attribute.
  const query = `NiuUserPrincipalName="${upn}"`;
  await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
  const row = page.getByRole('link', { name: handle.workflowId });
  await row.waitFor({ timeout: 30_000 });
  await expect(page.getByText(/^1 Workflow$/).count()).resolves.toBe(1);
  await page.screenshot({ path: path.join(artifacts, 'temporal-ui-list.png') });

  // 2. The workflow page: its type, and the summary and current details the workflow keeps.
  await row.click();
  await page.getByText('provisionNonInteractiveUser').first().waitFor();
  await page.locator('#user-metadata-tab').click();
  await waitForTextInAnyFrame(page, `Provision non-interactive user ${upn} in contoso-prod`);
  // Current details are markdown, which the UI renders inside an iframe.
  await waitForTextInAnyFrame(page, /await-dataverse-user: (license not propagated yet|waiting)/);
  await page.screenshot({ path: path.join(artifacts, 'temporal-ui-metadata.png'), fullPage: true });

  // 3. The status query, run from the UI.
  await page.locator('#queries-tab').click();
  const run = page.getByRole('button', { name: 'Run Query' });
  await run.waitFor();
  // `status` is the workflow's only query, so the UI preselects it.
  await run.click();
  const result = page.getByText(/"currentStep": "await-dataverse-user"/);
  await result.first().waitFor({ timeout: 30_000 });
  const text = await page.locator('body').innerText();
  expect(text).toContain(`"userPrincipalName": "${upn}"`);
  expect(text).toMatch(/"name": "create-entra-user",\s*"status": "completed"/);
  await page.screenshot({ path: path.join(artifacts, 'temporal-ui-query.png'), fullPage: true });
}

/** Waits until some frame of the page shows the text (the UI renders markdown in iframes). */
async function waitForTextInAnyFrame(page: Page, text: string | RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      seen = await frame
        .locator('body')
        .innerText({ timeout: 1_000 })
        .catch(() => '');
      if (typeof text === 'string' ? seen.includes(text) : text.test(seen)) return;
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`no frame shows ${String(text)} after ${timeoutMs} ms`);
}
