// A worker shutting down while work waits on slow calls: the shutdown ends after the grace time
// instead of waiting for the calls (or forever), and the next worker carries the request on to
// success. Two places: a step's activity (retried as an interrupted attempt), and the admission
// entity's own read, a local activity the SDK never cancels (the entity decides again later).
import type { WorkflowHandle } from '@temporalio/client';
import {
  FAST_SYNC,
  provisionInput,
  startProvision,
  startTestWorker,
  statusOf,
  testTaskQueue,
  type TestWorker,
} from '../helpers/worker';
import { useSandbox } from '../helpers/lifecycle';

const GRACE_MS = 2_000;
/** How late the capacity read answers: far longer than the shutdown may take. */
const SLOW_MS = 120_000;

const workers: TestWorker[] = [];
// Declared first, so it runs first: the workers stop before the sandbox closes.
afterAll(async () => {
  for (const w of workers) await w.stop();
});
const { sandbox, control } = useSandbox({ config: FAST_SYNC });

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

async function waitForFaultHit(): Promise<void> {
  const until = Date.now() + 30_000;
  while (!(await control.listFaults()).faults.some((f) => f.hits > 0)) {
    if (Date.now() > until) throw new Error('the slow call was never made');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops `first` mid-call, clears the fault, and lets a second worker finish the request. */
async function stopThenFinish(first: TestWorker, handle: WorkflowHandle, taskQueue: string) {
  const t0 = Date.now();
  await first.stop();
  const stopMs = Date.now() - t0;
  // Not a speed figure: before the fix this never returned. Anything well under SLOW_MS shows
  // the calls were abandoned at the grace time rather than waited for.
  expect(stopMs).toBeLessThan(SLOW_MS / 4);

  await control.clearFaults();
  const second = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue, env: workerEnv });
  workers.push(second);
  const again = second.client.workflow.getHandle(handle.workflowId); // the first worker's client is closed
  await again.result();
  expect((await statusOf(again)).status).toBe('succeeded');
  const history = await again.fetchHistory();
  // Interrupted, never cancelled.
  expect((history.events ?? []).filter((e) => e.activityTaskCanceledEventAttributes)).toEqual([]);
  return history.events ?? [];
}

const workerEnv = { WORKER_SHUTDOWN_GRACE_MS: String(GRACE_MS) };

test('shutdown mid-activity ends after the grace time; the interrupted attempt runs again on the next worker', async () => {
  const taskQueue = testTaskQueue('shutdown-activity');
  const first = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue, env: workerEnv });
  workers.push(first);
  // Creating the account hangs: create-entra-user's activity waits on it.
  await control.faults([{ service: 'graph', method: 'POST', path: '^/v1\\.0/users$', delayMs: SLOW_MS }]);
  const handle = await startProvision(first, provisionInput('svc-shutdown-a@contoso.onmicrosoft.com'));
  await waitForPendingActivity(handle, 'createEntraUser');
  await waitForFaultHit();

  const events = await stopThenFinish(first, handle, taskQueue);
  // The attempt that created the account came after one the first worker gave up on.
  const scheduled = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'createEntraUser',
  );
  const started = events.find(
    (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled?.eventId?.toString(),
  )?.activityTaskStartedEventAttributes;
  expect(started?.attempt).toBeGreaterThan(1);
  expect(started?.lastFailure?.applicationFailureInfo?.type).toBe('activity-interrupted');
}, 120_000);

test('shutdown while the admission entity reads the limit ends after the grace time; the entity decides again on the next worker', async () => {
  const taskQueue = testTaskQueue('shutdown-entity');
  const first = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue, env: workerEnv });
  workers.push(first);
  // The admission entity's read of the limit and count (a local activity) hangs.
  await control.faults([{ service: 'dataverse', path: 'RetrieveOrganizationResources', delayMs: SLOW_MS }]);
  const handle = await startProvision(first, provisionInput('svc-shutdown-b@contoso.onmicrosoft.com'));
  await waitForFaultHit();
  const reads = (await control.requests({ service: 'dataverse', path: 'RetrieveOrganizationResources' })).length;

  const events = await stopThenFinish(first, handle, taskQueue);
  // Decided by a read after the interrupted one, and exactly one slot was asked for.
  expect(
    (await control.requests({ service: 'dataverse', path: 'RetrieveOrganizationResources' })).length,
  ).toBeGreaterThan(reads);
  const answers = events.filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'admission');
  expect(answers.length).toBeGreaterThanOrEqual(1);
}, 120_000);
