// The audit schedules on the real dev server: a worker creates one per configured environment at
// start; a restart with another configuration updates them (an operator's pause kept), deletes
// those of environments no longer configured, never makes a second one, and leaves schedules of
// other task queues alone; the schedule then runs its audits on the worker.
import { readFileSync, writeFileSync } from 'node:fs';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { useSandbox } from '../helpers/lifecycle';
import { FAST_SYNC, startTestWorker, testTaskQueue, type TestWorker } from '../helpers/worker';
import { auditEnvironmentsFile } from '../helpers/drift';
import { until } from '../helpers/watch';
import { auditSchedulePrefix } from '../../workflows/audit-types';
import type { AuditReport } from '../../workflows/audit-types';

const { sandbox } = useSandbox({ config: FAST_SYNC });
const taskQueue = testTaskQueue('audit-schedules');
const prefix = auditSchedulePrefix(taskQueue);
const otherQueueId = `${auditSchedulePrefix(`${taskQueue}-other`)}contoso-test`;

const workers: TestWorker[] = [];
async function start(env: Record<string, string>): Promise<TestWorker> {
  const w = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue, env });
  workers.push(w);
  return w;
}
// An operator's client, apart from the workers' (each closes its own connection when it stops).
let operator: Client;
let connection: Connection;
beforeAll(async () => {
  connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  operator = new Client({ connection });
});
afterAll(async () => {
  for (const w of workers) await w.stop();
  await connection?.close();
});

async function ours(client: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(prefix)) ids.push(s.scheduleId);
  return ids.sort();
}

test('a worker creates one schedule per environment, from its configuration', async () => {
  const a = await start({ AUDIT_INTERVAL_SECONDS: '3600' });
  const ids = await until(
    () => ours(a.client),
    (list) => list.length === 2,
  );
  expect(ids).toEqual([`${prefix}contoso-prod`, `${prefix}contoso-test`]);
  const d = await a.client.schedule.getHandle(`${prefix}contoso-prod`).describe();
  expect(d.spec.intervals).toMatchObject([{ every: 3_600_000 }]);
  expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(d.action).toMatchObject({
    workflowType: 'auditEnvironment',
    taskQueue,
    args: [{ environment: 'contoso-prod' }],
  });
  expect(d.state.paused).toBe(false);
  await a.stop();
});

test('a restart makes no second schedule', async () => {
  const again = await start({ AUDIT_INTERVAL_SECONDS: '3600' });
  await again.stop();
  expect(await ours(operator)).toEqual([`${prefix}contoso-prod`, `${prefix}contoso-test`]);
});

test('a restart with another configuration updates, keeps the pause, deletes only what is gone', async () => {
  await operator.schedule.getHandle(`${prefix}contoso-prod`).pause('paused by an operator');
  // A schedule of another task queue: not this worker's to delete.
  await operator.schedule.create({
    scheduleId: otherQueueId,
    spec: { intervals: [{ every: 3_600_000 }] },
    action: { type: 'startWorkflow', workflowType: 'auditEnvironment', taskQueue: `${taskQueue}-other`, args: [] },
    state: { paused: true },
  });

  const onlyProd = auditEnvironmentsFile(sandbox.url, {});
  const doc = JSON.parse(readFileSync(onlyProd, 'utf8')) as { environments: { name: string }[] };
  writeFileSync(onlyProd, JSON.stringify({ environments: doc.environments.filter((e) => e.name === 'contoso-prod') }));
  await start({ AUDIT_INTERVAL_SECONDS: '2', ENVIRONMENTS_FILE: onlyProd });

  const ids = await until(
    () => ours(operator),
    (list) => list.length === 1,
  );
  expect(ids).toEqual([`${prefix}contoso-prod`]);
  const d = await operator.schedule.getHandle(`${prefix}contoso-prod`).describe();
  expect(d.spec.intervals).toMatchObject([{ every: 2_000 }]);
  expect(d.state).toMatchObject({ paused: true, note: 'paused by an operator' });
  await expect(operator.schedule.getHandle(otherQueueId).describe()).resolves.toBeDefined();
  await operator.schedule.getHandle(otherQueueId).delete();
});

test('the schedule runs its audits on the worker', async () => {
  const handle = operator.schedule.getHandle(`${prefix}contoso-prod`);
  await handle.unpause('resumed');
  const d = await until(
    () => handle.describe(),
    (x) => x.info.recentActions.length >= 1 && x.info.runningActions.length === 0,
  );
  expect(d.info.recentActions.length).toBeGreaterThanOrEqual(1);
  const { workflowId, firstExecutionRunId } = d.info.recentActions[0]!.action.workflow;
  expect(workflowId.startsWith(`${prefix}contoso-prod-`)).toBe(true);
  const report = (await operator.workflow.getHandle(workflowId, firstExecutionRunId).result()) as AuditReport;
  expect(report).toMatchObject({ environment: 'contoso-prod', repair: false, findings: [] });
  await handle.pause('test over');
});
