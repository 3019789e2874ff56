// The wait step under a sync that never happens, a worker process
// killed (SIGKILL) during the wait, and a cancellation during the wait.
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { spawnWorker as spawnWorkerProcess, type WorkerProcess } from '../helpers/processes';
import { launchedWorkerAllocator } from '../../worker/node-flags';
import {
  failureTypeOf,
  provisionInput,
  sandboxView,
  startProvision,
  statusOf,
  stepStatus,
  testTaskQueue,
  waitForStatus,
} from '../helpers/worker';
import { useSandbox, useWorker } from '../helpers/lifecycle';
import { SKU_PART } from '../helpers/sandbox';

const { sandbox, control } = useSandbox({ reset: true });

/** No sync ever: Dataverse never sees the user and addUser keeps answering userNotLicensed. */
const NEVER = { syncDelayMs: 3_600_000, licensePropagationMs: 3_600_000 };

describe('with an in-process worker', () => {
  const tw = useWorker(sandbox, 'failures');

  test('the sync never happens: sync-timeout, then compensation', async () => {
    await control.config(NEVER);
    const upn = 'svc-nosync@contoso.onmicrosoft.com';
    const seatsBefore = sandboxView(await control.state()).seatsUsed(SKU_PART);
    const handle = await startProvision(
      tw,
      provisionInput(upn, { timing: { ...provisionInput(upn).timing, syncTimeoutMs: 2_500, syncPollMaxMs: 500 } }),
    );
    expect(await failureTypeOf(handle)).toBe('sync-timeout');
    const doc = await statusOf(handle);
    expect(doc.status).toBe('failed');
    expect(doc.error?.type).toBe('sync-timeout');
    expect(stepStatus(doc, 'await-dataverse-user')).toBe('failed');
    expect(doc.steps.find((s) => s.name === 'await-dataverse-user')!.attempts).toBeGreaterThan(2); // it polled
    expect(stepStatus(doc, 'assign-license')).toBe('compensated');
    expect(stepStatus(doc, 'create-entra-user')).toBe('compensated');
    expect(stepStatus(doc, 'reserve-capacity')).toBe('compensated');
    // The failure carries the final steps (the API reads a closed request from there).
    const failure = await handle
      .result()
      .catch((err: unknown) => (err as WorkflowFailedError).cause as ApplicationFailure);
    expect(failure.details?.[0]).toEqual({ steps: doc.steps, currentStep: 'await-dataverse-user' });
    const after = sandboxView(await control.state());
    expect(after.user(upn)).toBeUndefined();
    expect(after.seatsUsed(SKU_PART)).toBe(seatsBefore);
  });

  test('cancellation during the wait: compensated, status cancelled', async () => {
    await control.config(NEVER);
    const upn = 'svc-cancel@contoso.onmicrosoft.com';
    const seatsBefore = sandboxView(await control.state()).seatsUsed(SKU_PART);
    const handle = await startProvision(tw, provisionInput(upn));
    await waitForStatus(handle, (d) => stepStatus(d, 'await-dataverse-user') === 'waiting');
    expect(sandboxView(await control.state()).user(upn)).toBeDefined();
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    const doc = await statusOf(handle);
    expect(doc.status).toBe('cancelled');
    expect(doc.error?.type).toBe('cancelled');
    expect(stepStatus(doc, 'create-entra-user')).toBe('compensated');
    expect(stepStatus(doc, 'assign-license')).toBe('compensated');
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    const after = sandboxView(await control.state());
    expect(after.user(upn)).toBeUndefined();
    expect(after.seatsUsed(SKU_PART)).toBe(seatsBefore);
  });
});

/** The worker as its own process (worker/main.ts), so it can be killed for real. */
const spawnWorker = (taskQueue: string, logLevel = 'WARN'): Promise<WorkerProcess> =>
  spawnWorkerProcess({ sandboxUrl: sandbox.url, taskQueue, logLevel });

test('the worker killed (SIGKILL) during the wait and started again: the request completes', async () => {
  await control.config(NEVER);
  const taskQueue = testTaskQueue('restart');
  const upn = 'svc-restart@contoso.onmicrosoft.com';
  const first = await spawnWorker(taskQueue);
  // A client of its own (the workers are other processes).
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const client = new Client({ connection });
  let second: WorkerProcess | undefined;
  try {
    const handle = await startProvision({ client, taskQueue }, provisionInput(upn));
    await waitForStatus(handle, (d) => stepStatus(d, 'await-dataverse-user') === 'waiting', 60_000);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // While no worker runs, the platform catches up.
    await control.config({ syncDelayMs: 200, licensePropagationMs: 100 });
    second = await spawnWorker(taskQueue, 'INFO');
    const result = await handle.result();
    const doc = await statusOf(handle);
    expect(doc.status).toBe('succeeded');
    const su = sandboxView(await control.state()).systemUser('contoso-prod', result.entraObjectId);
    expect(su?.accessmode).toBe(4);

    // The process serves Prometheus metrics and logs JSON lines.
    const metrics = await second.metrics();
    expect(metrics).toMatch(/temporal_workflow_completed/);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0); // graceful shutdown
    const lines = second
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    const entries = lines.map((l) => JSON.parse(l) as { msg: string; level: string; allocator?: string });
    expect(entries.map((e) => e.msg)).toEqual(expect.arrayContaining(['worker started', 'worker stopped']));
    // It runs on jemalloc wherever libjemalloc2 is installed (CI installs it, as the image does).
    expect(entries.find((e) => e.msg === 'worker started')?.allocator).toBe(launchedWorkerAllocator());
  } finally {
    for (const w of [first, second]) {
      if (w?.running()) w.child.kill('SIGKILL');
    }
    await connection.close();
  }
}, 120_000);
