// What an operator sees of the drift audit in the Temporal UI (the dev server's, as in
// `npm start`): the environment's schedule in the schedules list, its page with the interval,
// the audit workflow it starts and its recent runs, the worker's note, and a run's page. Screenshots are kept under
// test-results/ as artifacts.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser';
import { startTestSandbox, type Sandbox } from '../helpers/sandbox';
import { FAST_SYNC, sandboxControl, startTestWorker, testTaskQueue, type TestWorker } from '../helpers/worker';
import { auditScheduleId } from '../../workflows/audit-types';

const artifacts = path.resolve(__dirname, '../../test-results');
let sandbox: Sandbox;
let tw: TestWorker;
let browser: Browser;
let scheduleId: string;
let runs: string[] = [];

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  sandbox = await startTestSandbox();
  await sandboxControl(sandbox.url).config(FAST_SYNC);
  tw = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue: testTaskQueue('audit-ui') });
  scheduleId = auditScheduleId('contoso-prod', tw.taskQueue);
  // Two audits run now, one after the other, as an operator's "Trigger" would start them (a
  // second apart: a run's id is the schedule's id and the second it was started).
  const handle = tw.client.schedule.getHandle(scheduleId);
  for (let i = 0; i < 2; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 1_100));
    const before = (await handle.describe()).info.recentActions.length;
    await handle.trigger();
    for (;;) {
      const d = await handle.describe();
      if (d.info.recentActions.length > before && d.info.runningActions.length === 0) {
        runs = d.info.recentActions.map((a) => a.action.workflow.workflowId);
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await tw?.client.schedule
    .getHandle(scheduleId)
    .pause('test over')
    .catch(() => undefined);
  await tw?.stop();
  await sandbox?.close();
});

test("an operator finds the environment's audit schedule, its interval and its runs", async () => {
  const ui = process.env.NIU_TEST_TEMPORAL_UI;
  expect(ui).toBeDefined();
  expect(runs).toHaveLength(2);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  try {
    await operatorJourney(page, ui!);
  } catch (err) {
    await page.screenshot({ path: path.join(artifacts, 'audit-schedule-failure.png'), fullPage: true });
    throw err;
  }
});

async function operatorJourney(page: Page, ui: string): Promise<void> {
  // 1. The schedules list.
  await page.goto(`${ui}/namespaces/default/schedules`);
  const link = page.getByRole('link', { name: scheduleId });
  await link.waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(artifacts, 'audit-schedule-list.png') });

  // 2. The schedule's page: what it starts, how often, and its recent runs.
  await link.click();
  await page.getByText('auditEnvironment').first().waitFor({ timeout: 30_000 });
  await page.getByText('"3600s"').first().waitFor({ timeout: 30_000 });
  await page.getByText('Recent Runs').first().waitFor();
  await page.getByText('2 Completed').first().waitFor({ timeout: 30_000 });
  await page.getByText('created by the noninteractive-users worker from its configuration').first().waitFor();
  for (const run of runs) await page.getByText(run).first().waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(artifacts, 'audit-schedule-page.png'), fullPage: true });
  // Pause, and the menu beside it offers Trigger (docs/operations.md points operators there).
  await page.getByRole('button', { name: 'Pause' }).first().waitFor();
  await page.locator('button:visible:right-of(button:has-text("Pause"))').first().click();
  await page.getByText('Trigger').first().waitFor({ timeout: 10_000 });
  await page.screenshot({ path: path.join(artifacts, 'audit-schedule-menu.png') });
  await page.keyboard.press('Escape');

  // 3. A run's page: the audit workflow, completed.
  await page
    .getByRole('link', { name: runs[runs.length - 1]! })
    .first()
    .click();
  await page.getByText('auditEnvironment').first().waitFor({ timeout: 30_000 });
  await page
    .getByText(/Completed/)
    .first()
    .waitFor({ timeout: 30_000 });
  await page.screenshot({ path: path.join(artifacts, 'audit-schedule-run.png'), fullPage: true });
}
