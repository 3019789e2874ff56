// Environments restricted to a security group, on the real dev server with a real worker against
// the sandbox: both seeded environments take only the members of the seeded group (the worker
// reads that from the admin API), so the account must join it before the sync; compensation
// removes a membership only if this request added it.
import type { WorkflowHandle } from '@temporalio/client';
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
import { DOMAIN } from '../helpers/sandbox';

const { control, graph, worker: tw } = useSandboxAndWorker('security-group', { reset: FAST_SYNC });

/** The seeded group's id; every test restricts both environments to it (the worker keeps what it read for a minute). */
let groupId = '';
beforeEach(async () => {
  groupId = (await control.state()).groups.find((g) => g.displayName === 'Dynamics Non-Interactive Users')!.id;
  await control.config({
    environments: { 'contoso-prod': { securityGroupId: groupId }, 'contoso-test': { securityGroupId: groupId } },
  });
});

const members = async () => (await control.state()).groups.find((g) => g.id === groupId)!.members;
const detailOf = (doc: Awaited<ReturnType<typeof statusOf>>) =>
  doc.steps.find((s) => s.name === 'await-dataverse-user')!.detail;

/** Set access mode fails once, for good (a 400): the request fails after joining the group and compensates. */
const failSetAccessMode = () =>
  control.faults([{ service: 'dataverse', method: 'PATCH', path: 'systemusers\\(', status: 400, count: 1 }]);

async function provisioned(upn: string, environment: string): Promise<string> {
  const handle = await startProvision(tw, provisionInput(upn, { environment }));
  return (await handle.result()).entraObjectId;
}

test('the account joins the environment’s group before the sync, and stays a member', async () => {
  const upn = `svc-group@${DOMAIN}`;
  await control.clearRequests();
  const handle = await startProvision(tw, provisionInput(upn));
  const { entraObjectId, systemUserId } = await handle.result();
  const doc = await statusOf(handle);
  expect(doc.status).toBe('succeeded');
  expect(detailOf(doc)).toBe(`systemuser ${systemUserId} (security group ${groupId})`);
  expect(await members()).toEqual([entraObjectId]);
  const su = sandboxView(await control.state()).systemUser('contoso-prod', entraObjectId);
  expect(su).toMatchObject({ accessmode: 4, isdisabled: false });
  const joins = await control.requests({ service: 'graph', method: 'POST', path: '/members/\\$ref$' });
  expect(joins.map((r) => [r.path, r.status])).toEqual([[`/v1.0/groups/${groupId}/members/$ref`, 204]]);
});

test('right after joining, addUser’s "not part of the security group" is "not yet": the wait forces the sync until the platform sees it', async () => {
  // Only addUser brings the user, and the membership reaches the platform 1.5 s after joining.
  await control.config({ syncDelayMs: 3_600_000, licensePropagationMs: 0, groupPropagationMs: 1_500 });
  await control.clearRequests();
  const handle = await startProvision(tw, provisionInput(`svc-group-new@${DOMAIN}`));
  const waiting = await waitForStatus(handle, (d) => stepStatus(d, 'await-dataverse-user') === 'waiting');
  expect(detailOf(waiting)).toMatch(
    new RegExp(
      `^added to security group ${groupId} \\(until the platform sees the membership, addUser's "not part of the security group" counts as not yet\\); waiting for the systemuser`,
    ),
  );
  await handle.result();
  const doc = await statusOf(handle);
  expect(doc.status).toBe('succeeded');
  const addUser = await control.requests({ service: 'powerplatform', path: '/addUser' });
  expect(addUser.filter((r) => r.status === 400).length).toBeGreaterThanOrEqual(2);
  expect(addUser.at(-1)?.status).toBe(200);
  expect(doc.steps.find((s) => s.name === 'await-dataverse-user')!.attempts).toBeGreaterThanOrEqual(3);
});

describe('a request that fails after joining the group', () => {
  async function failing(upn: string): Promise<WorkflowHandle> {
    await failSetAccessMode();
    const handle = await startProvision(tw, provisionInput(upn));
    expect(await failureTypeOf(handle)).toBe('invalid-request');
    return handle;
  }

  test('removes the membership it added: not a member afterwards', async () => {
    const upn = `svc-group-undo@${DOMAIN}`;
    // An account of this service that is not a member (provisioned for contoso-test, then taken
    // out of the group by an administrator): the failing request adopts it and adds it.
    const id = await provisioned(upn, 'contoso-test');
    await graph.api(`/groups/${groupId}/members/${id}/$ref`).delete();
    expect(await members()).toEqual([]);
    const doc = await statusOf(await failing(upn));
    expect(stepStatus(doc, 'await-dataverse-user')).toBe('compensated');
    expect(detailOf(doc)).toBe(`removed from security group ${groupId} again (this request had added it)`);
    expect(await members()).toEqual([]);
    expect(sandboxView(await control.state()).user(upn)?.id).toBe(id); // adopted, so not deleted
  });

  test('leaves a membership it did not add: another request’s account relies on it', async () => {
    const upn = `svc-group-shared@${DOMAIN}`;
    const id = await provisioned(upn, 'contoso-test');
    expect(await members()).toEqual([id]);
    const doc = await statusOf(await failing(upn));
    expect(stepStatus(doc, 'await-dataverse-user')).toBe('completed');
    expect(await members()).toEqual([id]);
    expect(sandboxView(await control.state()).systemUser('contoso-test', id)).toMatchObject({
      accessmode: 4,
      isdisabled: false,
    });
  });
});
