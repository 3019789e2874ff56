// The admission entity under concurrent requests: the limit is never exceeded, and one account
// requested for two environments at the same moment runs one request after the other.
import {
  FAST_SYNC,
  failureTypeOf,
  provisionInput,
  sandboxView,
  startProvision,
  statusOf,
  stepStatus,
  waitForStatus,
} from '../helpers/worker';
import { useSandboxAndWorker } from '../helpers/lifecycle';
import { watchNonInteractiveCounts } from '../helpers/watch';
import { SKU_PART } from '../helpers/sandbox';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  ADMISSION_WORKFLOW_TYPE,
  admissionWorkflowId,
  RESERVATIONS_QUERY,
  READ_CAPACITY_WORKFLOW_TYPE,
  type EnvironmentCapacity,
} from '../../workflows/types';

const { control, worker: tw } = useSandboxAndWorker('concurrency', { reset: FAST_SYNC });

/** Starts a request for `upn` that stays in await-dataverse-user (the sandbox does not sync it). */
async function parkedRequest(upn: string, environment: string) {
  await control.config({ syncDelayMs: 3_600_000, licensePropagationMs: 3_600_000 });
  const handle = await startProvision(tw, provisionInput(upn, { environment }));
  await waitForStatus(handle, (d) => stepStatus(d, 'await-dataverse-user') === 'waiting');
  return handle;
}

test('limit 5 with 3 used, 6 concurrent requests: exactly 2 succeed, 4 capacity-exhausted; never above 5', async () => {
  await control.config({ environments: { 'contoso-prod': { nonInteractiveLimit: 5 } } });
  // Three non-interactive users already there (provisioned the normal way).
  const existing = await Promise.all(
    [1, 2, 3].map((i) => startProvision(tw, provisionInput(`svc-existing${i}@contoso.onmicrosoft.com`))),
  );
  await Promise.all(existing.map((h) => h.result()));
  expect(sandboxView(await control.state()).nonInteractiveCount('contoso-prod')).toBe(3);
  const seatsBefore = sandboxView(await control.state()).seatsUsed(SKU_PART);

  const watcher = watchNonInteractiveCounts(control, ['contoso-prod']);
  const upns = [1, 2, 3, 4, 5, 6].map((i) => `svc-burst${i}@contoso.onmicrosoft.com`);
  const handles = await Promise.all(upns.map((upn) => startProvision(tw, provisionInput(upn))));
  const outcomes = await Promise.all(handles.map((h) => failureTypeOf(h)));
  const max = (await watcher.stop())['contoso-prod'];

  expect(outcomes.filter((o) => o === null)).toHaveLength(2);
  expect(outcomes.filter((o) => o === 'capacity-exhausted')).toHaveLength(4);
  expect(max).toBeLessThanOrEqual(5);
  const state = sandboxView(await control.state());
  expect(state.nonInteractiveCount('contoso-prod')).toBe(5);
  for (const [i, handle] of handles.entries()) {
    const doc = await statusOf(handle);
    if (outcomes[i] === null) continue;
    // Refused before anything was created: nothing to undo but the (never granted) slot.
    expect(doc.status).toBe('failed');
    expect(doc.error?.type).toBe('capacity-exhausted');
    expect(stepStatus(doc, 'reserve-capacity')).toBe('failed');
    expect(stepStatus(doc, 'create-entra-user')).toBe('pending');
    expect(state.user(upns[i]!)).toBeUndefined();
  }
  expect(state.seatsUsed(SKU_PART)).toBe(seatsBefore);
  // The platform itself never had to refuse mode 4: the entity kept the requests below the limit.
  const log = await control.requests();
  expect(log.filter((r) => r.method === 'PATCH' && /systemusers/.test(r.path) && r.status >= 400)).toEqual([]);
  // All slots were given back.
  const reservations = await tw.client.workflow
    .getHandle(`niu-admission@${tw.taskQueue}`)
    .query<{ reserved: number }, [string]>('reservations', 'contoso-prod');
  expect(reservations.reserved).toBe(0);
}, 120_000);

test('the same UPN for contoso-prod and contoso-test at once: both succeed, one account, mode 4 in both, no license', async () => {
  const upn = 'svc-shared@contoso.onmicrosoft.com';
  const seatsBefore = sandboxView(await control.state()).seatsUsed(SKU_PART);
  const [prod, test] = await Promise.all([
    startProvision(tw, provisionInput(upn, { environment: 'contoso-prod' })),
    startProvision(tw, provisionInput(upn, { environment: 'contoso-test' })),
  ]);
  const [a, b] = await Promise.all([prod.result(), test.result()]);
  expect(a.entraObjectId).toBe(b.entraObjectId);
  const state = sandboxView(await control.state());
  expect(state.usersNamed(upn)).toHaveLength(1);
  expect(state.user(upn)?.assignedLicenses ?? []).toEqual([]);
  expect(state.systemUser('contoso-prod', a.entraObjectId)?.accessmode).toBe(4);
  expect(state.systemUser('contoso-test', a.entraObjectId)?.accessmode).toBe(4);
  expect(state.systemUser('contoso-prod', a.entraObjectId)?.isdisabled).toBe(false);
  expect(state.systemUser('contoso-test', a.entraObjectId)?.isdisabled).toBe(false);
  expect(state.seatsUsed(SKU_PART)).toBe(seatsBefore);
  // One of them created the account, the other adopted it.
  const details = [await statusOf(prod), await statusOf(test)].map(
    (d) => d.steps.find((s) => s.name === 'create-entra-user')!.detail,
  );
  expect(details.sort()).toEqual(['account created', 'existing integration account adopted']);
}, 120_000);

test('the same account for a second environment waits behind the first (queued, with its position), then runs', async () => {
  const upn = 'svc-queued@contoso.onmicrosoft.com';
  const first = await parkedRequest(upn, 'contoso-prod');
  const second = await startProvision(tw, provisionInput(upn, { environment: 'contoso-test' }));
  const queued = await waitForStatus(second, (d) => stepStatus(d, 'reserve-capacity') === 'waiting');
  expect(queued.steps[0]!.detail).toBe('another request for this account runs first (queue position 1)');
  expect(stepStatus(queued, 'create-entra-user')).toBe('pending');
  await control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
  await Promise.all([first.result(), second.result()]);
  // The second touched the account only after the first had ended.
  const firstDone = (await statusOf(first)).updatedAt;
  const secondCreate = (await statusOf(second)).steps.find((s) => s.name === 'create-entra-user')!;
  expect(Date.parse(secondCreate.startedAt!)).toBeGreaterThanOrEqual(Date.parse(firstDone));
  expect(secondCreate.detail).toBe('existing integration account adopted');
}, 60_000);

test('the slot goes back once the access mode is 4, while the account lock is held to the end', async () => {
  const upn = 'svc-slotback@contoso.onmicrosoft.com';
  const reserved = () =>
    tw.client.workflow
      .getHandle(admissionWorkflowId(tw.taskQueue))
      .query<{ reserved: number; holders: string[] }, [string]>(RESERVATIONS_QUERY, 'contoso-prod');
  // Parked in the sync wait, holding its slot.
  await control.config({ syncDelayMs: 3_600_000, licensePropagationMs: 3_600_000 });
  const timing = { ...provisionInput(upn).timing, verifySettleMs: 30_000 };
  const run = await startProvision(tw, provisionInput(upn, { timing }));
  await waitForStatus(run, (d) => stepStatus(d, 'await-dataverse-user') === 'waiting');
  await expect(reserved()).resolves.toEqual({ reserved: 1, holders: [run.workflowId] });
  // Synced, set to mode 4, license removed, settling: Dataverse counts the user now.
  await control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
  await waitForStatus(run, (d) => stepStatus(d, 'verify-access-mode') === 'waiting');
  await expect(reserved()).resolves.toEqual({ reserved: 0, holders: [] });
  // The account stays locked: a request for it in another environment waits.
  const second = await startProvision(tw, provisionInput(upn, { environment: 'contoso-test' }));
  await waitForStatus(second, (d) => stepStatus(d, 'reserve-capacity') === 'waiting');
  await Promise.all([run.terminate('test done'), second.terminate('test done')]);
}, 60_000);

test('a request terminated while holding its account lock does not block the next request for that account', async () => {
  const upn = 'svc-lockterm@contoso.onmicrosoft.com';
  const first = await parkedRequest(upn, 'contoso-prod');
  // Terminated from outside: it never releases the lock; the entity finds it gone.
  await first.terminate('operator terminated it');
  await control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
  const second = await startProvision(tw, provisionInput(upn, { environment: 'contoso-test' }));
  await second.result();
  expect((await statusOf(second)).status).toBe('succeeded');
}, 30_000);

test('a request terminated while holding a slot does not leak it: the next request gets the slot', async () => {
  await control.config({
    syncDelayMs: 3_600_000,
    licensePropagationMs: 3_600_000,
    environments: { 'contoso-test': { nonInteractiveLimit: 1 } },
  });
  const first = await startProvision(
    tw,
    provisionInput('svc-term1@contoso.onmicrosoft.com', { environment: 'contoso-test' }),
  );
  await waitForStatus(first, (d) => stepStatus(d, 'await-dataverse-user') === 'waiting');
  // Terminated from outside: no compensation runs, nothing is released.
  await first.terminate('operator terminated it');
  await control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
  const second = await startProvision(
    tw,
    provisionInput('svc-term2@contoso.onmicrosoft.com', { environment: 'contoso-test' }),
  );
  await second.result();
  expect((await statusOf(second)).status).toBe('succeeded');
  expect(sandboxView(await control.state()).nonInteractiveCount('contoso-test')).toBe(1);
}, 60_000);

test('readEnvironmentCapacity (run by the API) returns the live limit and count from Dataverse', async () => {
  await control.config({ environments: { 'contoso-test': { nonInteractiveLimit: 9 } } });
  const read = () =>
    tw.client.workflow.execute(READ_CAPACITY_WORKFLOW_TYPE, {
      taskQueue: tw.taskQueue,
      workflowId: `niu-capacity-read:contoso-test:${Date.now()}`,
      args: ['contoso-test'],
    }) as Promise<EnvironmentCapacity>;
  expect(await read()).toEqual({ limit: 9, used: 0 });
  await (
    await startProvision(tw, provisionInput('svc-counted@contoso.onmicrosoft.com', { environment: 'contoso-test' }))
  ).result();
  expect(await read()).toEqual({ limit: 9, used: 1 });
});

test('the admission entity decides from a read under 2 s old, and reads again after a release', async () => {
  // Runs that exist but never run (no worker polls their queue), so the entity's answers reach
  // them, and the test sends the entity's signals itself, milliseconds apart.
  const idle = { ...tw, taskQueue: `${tw.taskQueue}-nobody` };
  const run = async (name: string) => {
    const upn = `svc-reuse-${name}@contoso.onmicrosoft.com`;
    const handle = await startProvision(idle, provisionInput(upn));
    return { handle, upn, id: handle.workflowId, runId: (await handle.describe()).runId };
  };
  const a = await run('a');
  const b = await run('b');
  const c = await run('c');
  const entity = tw.client.workflow.getHandle(admissionWorkflowId(tw.taskQueue));
  const admit = (r: typeof a) =>
    tw.client.workflow.signalWithStart(ADMISSION_WORKFLOW_TYPE, {
      workflowId: entity.workflowId,
      taskQueue: tw.taskQueue,
      args: [{}],
      signal: 'admit',
      signalArgs: [
        { requestId: r.id, workflowId: r.id, runId: r.runId, environment: 'contoso-prod', userPrincipalName: r.upn },
      ],
    });
  const release = (r: typeof a) => entity.signal('releaseAdmission', { requestId: r.id, runId: r.runId, lock: true });
  const holding = async (r: typeof a, holds = true) => {
    for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((w) => setTimeout(w, 20))) {
      const { holders } = await entity.query<{ holders: string[] }, [string]>(RESERVATIONS_QUERY, 'contoso-prod');
      if (holders.includes(r.id) === holds) return;
    }
    throw new Error(`${r.id} ${holds ? 'never got' : 'still holds'} a slot`);
  };
  const reads = async () => {
    const history = await entity.fetchHistory().catch((err: unknown) => {
      // Not started yet (fetchHistory reports it as gRPC NOT_FOUND, describe as WorkflowNotFoundError).
      if (err instanceof WorkflowNotFoundError || (err as { code?: number }).code === 5) return { events: [] };
      throw err;
    });
    return (history.events ?? []).filter((e) => {
      const data = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
      return data && JSON.parse(Buffer.from(data).toString()).activity_type === 'readEnvironmentCapacity';
    }).length;
  };

  try {
    const before = await reads(); // reads for earlier tests: over 2 s ago, or released since
    await admit(a);
    await holding(a);
    await admit(b);
    await holding(b);
    expect(await reads()).toBe(before + 1); // b was decided from a's read

    await release(a);
    await holding(a, false);
    await admit(c);
    await holding(c);
    expect(await reads()).toBe(before + 2); // a release came since: c was decided from a new read
  } finally {
    for (const r of [a, b, c]) {
      await release(r).catch(() => undefined); // the entity may not have started
      await r.handle.terminate('test done');
    }
  }
}, 60_000);
