// A worker shutting down while activities wait on slow calls: the shutdown ends after the grace
// time instead of waiting for the calls (or forever: the reserve-capacity step waits for an update
// that the capacity entity, on this same worker, can no longer answer once it stops polling),
// and the interrupted attempt is retried by the next worker, so the request still succeeds.
import type { WorkflowHandle } from '@temporalio/client';
import { startTestSandbox, type Sandbox, type SandboxControl } from '../helpers/sandbox';
import {
  provisionInput,
  sandboxControl,
  startProvision,
  startTestWorker,
  statusOf,
  testTaskQueue,
  type TestWorker,
} from '../helpers/worker';

const GRACE_MS = 2_000;
/** How late the capacity read answers: far longer than the shutdown may take. */
const SLOW_MS = 120_000;

let sandbox: Sandbox;
let control: SandboxControl;
const workers: TestWorker[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox();
  control = sandboxControl(sandbox.url);
  await control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
});
afterAll(async () => {
  for (const w of workers) await w.stop();
  await sandbox?.close();
});

async function waitForPendingActivity(handle: WorkflowHandle, type: string): Promise<void> {
  const until = Date.now() + 30_000;
  for (;;) {
    const d = await handle.describe();
    const pending = d.raw.pendingActivities ?? [];
    if (pending.some((a) => a.activityType?.name === type && a.lastStartedTime)) return;
    if (Date.now() > until) throw new Error(`no started ${type} activity: ${JSON.stringify(pending)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('shutdown mid reserve-capacity ends after the grace time, and the next worker finishes the request', async () => {
  const taskQueue = testTaskQueue('shutdown');
  const env = { WORKER_SHUTDOWN_GRACE_MS: String(GRACE_MS) };
  const first = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue, env });
  workers.push(first);
  // The capacity entity's read of the limit and count hangs: reserve-capacity waits on it.
  await control.faults([{ service: 'dataverse', path: 'RetrieveOrganizationResources', delayMs: SLOW_MS }]);
  const handle = await startProvision(first, provisionInput('svc-shutdown@contoso.onmicrosoft.com'));
  await waitForPendingActivity(handle, 'reserveCapacity');

  const t0 = Date.now();
  await first.stop();
  const stopMs = Date.now() - t0;
  // Not a speed figure: before the fix this never returned. Anything well under SLOW_MS shows
  // the calls were abandoned at the grace time rather than waited for.
  expect(stopMs).toBeLessThan(SLOW_MS / 4);

  await control.clearFaults();
  const second = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue, env });
  workers.push(second);
  const again = second.client.workflow.getHandle(handle.workflowId); // the first worker's client is closed
  await again.result();
  const doc = await statusOf(again);
  expect(doc.status).toBe('succeeded');
  // The interrupted attempt failed as retryable (not as a cancellation) and was run again.
  const history = await again.fetchHistory();
  const cancelled = (history.events ?? []).filter((e) => e.activityTaskCanceledEventAttributes);
  expect(cancelled).toEqual([]);
  // The attempt that ran the reservation to its end came after one the first worker gave up on.
  const reserved = (history.events ?? []).find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'reserveCapacity',
  );
  const started = (history.events ?? []).find(
    (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === reserved?.eventId?.toString(),
  )?.activityTaskStartedEventAttributes;
  expect(started?.attempt).toBeGreaterThan(1);
  expect(started?.lastFailure?.applicationFailureInfo?.type).toBe('activity-interrupted');
}, 120_000);
