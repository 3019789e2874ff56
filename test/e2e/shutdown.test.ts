// SIGTERM drains the worker: it stops taking tasks, lets the activity in flight finish within
// WORKER_SHUTDOWN_GRACE_MS and exits 0. The request then finishes on the next worker with
// nothing lost and nothing done twice (one account, created by one attempt). The API's side
// (in-flight HTTP requests finish on SIGTERM) is tested in test/e2e/api-main.test.ts.
import { Client, Connection } from '@temporalio/client';
import { startTestSandbox, sandboxControl, type Sandbox } from '../helpers/sandbox';
import { spawnWorker, type WorkerProcess } from '../helpers/processes';
import { provisionInput, startProvision, testTaskQueue, waitForStatus } from '../helpers/worker';
import type { ProvisionResult, StatusDocument } from '../../workflows/types';

let sandbox: Sandbox;
let connection: Connection;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
});
afterAll(async () => {
  await connection?.close();
  await sandbox?.close();
});

test('SIGTERM mid-activity: the worker drains, exits 0, and the request completes once on the next worker', async () => {
  const control = sandboxControl(sandbox.url);
  await control.config({ syncDelayMs: 300, licensePropagationMs: 100 });
  // The account creation answers after 3 s: SIGTERM arrives while that activity runs.
  await control.faults([{ service: 'graph', method: 'POST', path: '^/v1\\.0/users$', delayMs: 3_000 }]);
  const taskQueue = testTaskQueue('shutdown');
  const client = new Client({ connection });
  const upn = `svc-drain-${Date.now().toString(36)}@contoso.onmicrosoft.com`;
  const workers: WorkerProcess[] = [];
  try {
    const first = await spawnWorker({ sandboxUrl: sandbox.url, taskQueue, env: { WORKER_SHUTDOWN_GRACE_MS: '15000' } });
    workers.push(first);
    await first.ready();
    const handle = await startProvision({ client, taskQueue }, provisionInput(upn));
    await waitForStatus(handle, (d) => d.currentStep === 'create-entra-user', 30_000);
    // The create call is now held 3 s by the sandbox (its log records it only when answered).
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await control.requests({ service: 'graph', method: 'POST' })).toEqual([]);
    const signalledAt = Date.now();
    const exit = await first.kill('SIGTERM', 30_000);
    expect(exit).toEqual({ code: 0, signal: null });
    // It waited for the slow call instead of dropping it.
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(1_000);
    const messages = first.jsonLines().map((l) => l.msg);
    expect(messages).toEqual(expect.arrayContaining(['shutting down', 'worker stopped']));

    await control.clearFaults();
    const second = await spawnWorker({ sandboxUrl: sandbox.url, taskQueue });
    workers.push(second);
    const result = (await handle.result()) as ProvisionResult;
    const doc = (await handle.query('status')) as StatusDocument;
    expect(doc.status).toBe('succeeded');
    // The create step finished during the drain: one attempt, one POST, one account.
    expect(doc.steps.find((s) => s.name === 'create-entra-user')?.attempts).toBe(1);
    const creates = (await control.requests({ service: 'graph', method: 'POST' })).filter(
      (r) => r.path === '/v1.0/users',
    );
    expect(creates.map((r) => r.status)).toEqual([201]);
    // Worker logs: one JSON line per activity attempt, each naming its workflow and activity.
    const activityLines = [...first.jsonLines(), ...second.jsonLines()].filter((l) => l.msg === 'activity completed');
    expect(activityLines.length).toBeGreaterThanOrEqual(8);
    for (const line of activityLines) {
      expect(line).toEqual(
        expect.objectContaining({ workflowId: expect.any(String), activityType: expect.any(String) }),
      );
    }
    expect(activityLines.filter((l) => l.workflowId === handle.workflowId).map((l) => l.activityType)).toEqual(
      expect.arrayContaining(['createEntraUser', 'assignLicense', 'setAccessMode', 'removeLicense']),
    );
    const state = await control.state();
    const accounts = state.users.filter((u) => u.userPrincipalName.toLowerCase() === upn);
    expect(accounts.map((u) => u.id)).toEqual([result.entraObjectId]);
  } finally {
    await control.clearFaults();
    for (const w of workers) if (w.running()) await w.kill('SIGKILL');
  }
}, 120_000);
