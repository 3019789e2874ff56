// Deprovisioning and password rotation on the real dev server, with a real worker (and a Key
// Vault: the sandbox's) against the sandbox over HTTPS with the real Microsoft client libraries.
import type { WorkflowHandle } from '@temporalio/client';
import {
  FAST_SYNC,
  FAST_TIMING,
  failureTypeOf,
  provisionInput,
  sandboxView,
  startDeprovision as startWorkerDeprovision,
  startProvision,
  startTestWorker,
  stepStatus,
  testTaskQueue,
  waitForStatus,
  type TestWorker,
} from '../helpers/worker';
import { useSandbox } from '../helpers/lifecycle';
import {
  DEPROVISION_STEP_NAMES,
  ROTATE_PASSWORD_WORKFLOW_TYPE,
  rotationWorkflowIdFor,
  type DeprovisionResult,
  type DeprovisionStatus,
  type RotationResult,
} from '../../workflows/lifecycle-types';
import type { ProvisionResult } from '../../workflows/types';

const { sandbox, control } = useSandbox({ reset: FAST_SYNC });
let tw: TestWorker;
beforeAll(async () => {
  tw = await startTestWorker({
    sandboxUrl: sandbox.url,
    taskQueue: testTaskQueue('deprovision'),
    env: { KEYVAULT_URL: sandbox.url, KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true' },
  });
});
afterAll(async () => {
  await tw?.stop();
});

const secretOf = (upn: string) => `niu-${upn.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;

function startDeprovision(
  upn: string,
  provisioned: ProvisionResult,
  deleteAccount = false,
  environment = 'contoso-prod',
) {
  return startWorkerDeprovision(
    tw,
    { environment, userPrincipalName: upn, entraObjectId: provisioned.entraObjectId },
    deleteAccount,
  );
}

const deprovisionStatus = (h: WorkflowHandle) => h.query<DeprovisionStatus>('status');
const steps = (doc: { steps: { name: string; status: string }[] }) =>
  Object.fromEntries(doc.steps.map((s) => [s.name, s.status]));

async function provisioned(upn: string, environment = 'contoso-prod'): Promise<ProvisionResult> {
  return (await startProvision(tw, provisionInput(upn, { environment }))).result();
}

test('deprovisioned: out of the count, account disabled, secret deleted; provisioned again, it works', async () => {
  const upn = 'svc-deprov@contoso.onmicrosoft.com';
  const first = await provisioned(upn);
  const before = sandboxView(await control.state());
  expect(before.systemUser('contoso-prod', first.entraObjectId)?.accessmode).toBe(4);
  expect((await control.state()).secrets).toContain(secretOf(upn));

  const handle = await startDeprovision(upn, first);
  const result: DeprovisionResult = await handle.result();
  const doc = await deprovisionStatus(handle);
  expect(doc.status).toBe('succeeded');
  expect(doc.id).toBe(`niu:contoso-prod:${upn}`);
  expect(doc.steps.map((s) => s.name)).toEqual([...DEPROVISION_STEP_NAMES]);
  expect(steps(doc)).toEqual({
    'lock-account': 'completed',
    'release-access-mode': 'completed',
    'disable-entra-account': 'completed',
    'await-dataverse-release': 'completed',
    'delete-password-secret': 'completed',
    'delete-entra-account': 'skipped',
  });
  expect(result).toMatchObject({
    accessMode: 0,
    accountDisabled: true,
    passwordSecretDeleted: true,
    accountDeleted: false,
  });

  const state = await control.state();
  const after = sandboxView(state);
  expect(after.nonInteractiveCount('contoso-prod')).toBe(before.nonInteractiveCount('contoso-prod') - 1);
  expect(after.user(upn)?.accountEnabled).toBe(false);
  const su = after.systemUser('contoso-prod', first.entraObjectId)!;
  expect([su.accessmode, su.isdisabled]).toEqual([0, true]);
  expect(state.secrets).not.toContain(secretOf(upn));
  expect(state.deletedSecrets).toContain(secretOf(upn));

  // Provisioned again (a new run of its id): the account enabled again with a fresh password,
  // stored in the secret, which is recovered from the deleted ones first.
  const again = await provisioned(upn);
  expect(again.entraObjectId).toBe(first.entraObjectId);
  expect(again.passwordSecretId).toMatch(new RegExp(`/secrets/${secretOf(upn)}/[0-9a-f]{32}$`));
  const reprovisioned = await control.state();
  expect(sandboxView(reprovisioned).user(upn)?.accountEnabled).toBe(true);
  expect(sandboxView(reprovisioned).systemUser('contoso-prod', first.entraObjectId)).toMatchObject({
    accessmode: 4,
    isdisabled: false,
  });
  expect(reprovisioned.secrets).toContain(secretOf(upn));
  expect(reprovisioned.deletedSecrets).not.toContain(secretOf(upn));
});

test('with deleteAccount: the account is deleted; a second deprovisioning finds nothing left to do', async () => {
  const upn = 'svc-deprov-delete@contoso.onmicrosoft.com';
  const first = await provisioned(upn);
  const handle = await startDeprovision(upn, first, true);
  expect((await handle.result()).accountDeleted).toBe(true);
  expect(steps(await deprovisionStatus(handle))['delete-entra-account']).toBe('completed');
  const state = await control.state();
  expect(sandboxView(state).user(upn)).toBeUndefined();
  expect(state.deletedUsers.map((u) => u.userPrincipalName)).toContain(upn);

  const repeat = await startDeprovision(upn, first, true);
  const result = await repeat.result();
  expect(result).toMatchObject({ accountDeleted: false, passwordSecretDeleted: false });
  expect(steps(await deprovisionStatus(repeat))).toMatchObject({
    'disable-entra-account': 'skipped',
    'delete-password-secret': 'completed',
    'delete-entra-account': 'completed',
  });
});

test('an account provisioned in two environments: deprovisioned in one, it stays enabled with its secret; deleting it is refused', async () => {
  const upn = 'svc-deprov-two@contoso.onmicrosoft.com';
  const prod = await provisioned(upn, 'contoso-prod');
  await provisioned(upn, 'contoso-test');
  const refused = await startDeprovision(upn, prod, true);
  expect(await failureTypeOf(refused)).toBe('account-in-use');
  expect(sandboxView(await control.state()).systemUser('contoso-prod', prod.entraObjectId)?.accessmode).toBe(4);

  const handle = await startDeprovision(upn, prod);
  const result = await handle.result();
  expect(result).toMatchObject({
    accessMode: 0,
    accountDisabled: false,
    passwordSecretDeleted: false,
    stillUsedIn: ['contoso-test'],
  });
  const state = await control.state();
  expect(sandboxView(state).user(upn)?.accountEnabled).toBe(true);
  expect(state.secrets).toContain(secretOf(upn));
  expect(sandboxView(state).systemUser('contoso-test', prod.entraObjectId)).toMatchObject({
    accessmode: 4,
    isdisabled: false,
  });
});

test('deprovisioning and provisioning of one account serialize through its lock', async () => {
  const upn = 'svc-deprov-lock@contoso.onmicrosoft.com';
  // A provisioning of the account, parked in its sync wait, holds the lock.
  await control.config({ syncDelayMs: 3_600_000, licensePropagationMs: 3_600_000 });
  const parked = await startProvision(tw, provisionInput(upn));
  await waitForStatus(parked, (d) => stepStatus(d, 'await-dataverse-user') === 'waiting');
  const entraObjectId = sandboxView(await control.state()).user(upn)!.id;
  const handle = await startDeprovision(upn, { entraObjectId } as ProvisionResult);
  const waiting = await waitForDoc(handle, (d) => d.steps[0]!.status === 'waiting');
  expect(waiting.steps[0]!.detail).toMatch(/queue position 1/);
  expect(steps(waiting)['release-access-mode']).toBe('pending');

  // The provisioning goes on, ends, and only then does the deprovisioning take the account.
  await control.config(FAST_SYNC);
  const { steps: provisioningSteps } = (await parked.result()) as ProvisionResult;
  expect((await handle.result()).accessMode).toBe(0);
  const lastOfProvisioning = provisioningSteps!.find((st) => st.name === 'verify-access-mode')!.completedAt!;
  const locked = (await deprovisionStatus(handle)).steps[0]!.completedAt!;
  expect(Date.parse(locked)).toBeGreaterThanOrEqual(Date.parse(lastOfProvisioning));
  expect(sandboxView(await control.state()).user(upn)?.accountEnabled).toBe(false);
});

test('Dataverse throttling (429) during deprovisioning is survived', async () => {
  const upn = 'svc-deprov-429@contoso.onmicrosoft.com';
  const first = await provisioned(upn);
  await control.faults([
    { service: 'dataverse', method: 'PATCH', path: 'systemusers', status: 429, count: 2, retryAfterSeconds: 1 },
  ]);
  const handle = await startDeprovision(upn, first);
  expect((await handle.result()).accessMode).toBe(0);
  expect((await control.listFaults()).faults[0]!.hits).toBe(2);
});

test('a failure before the point of no return undoes what was done: mode 4 again, account enabled again', async () => {
  const upn = 'svc-deprov-undo@contoso.onmicrosoft.com';
  const first = await provisioned(upn);
  // Key Vault refuses the deletion for good (403: permission-denied).
  await control.faults([{ service: 'keyvault', method: 'DELETE', status: 403, rate: 1 }]);
  const handle = await startDeprovision(upn, first);
  expect(await failureTypeOf(handle)).not.toBeNull();
  const doc = await deprovisionStatus(handle);
  expect(doc.status).toBe('failed');
  expect(steps(doc)).toMatchObject({
    'release-access-mode': 'compensated',
    'disable-entra-account': 'compensated',
    'delete-password-secret': 'failed',
  });
  const state = sandboxView(await control.state());
  expect(state.user(upn)?.accountEnabled).toBe(true);
  expect(state.systemUser('contoso-prod', first.entraObjectId)?.accessmode).toBe(4);
});

test('rotation: a new secret version set as the password, never in history', async () => {
  const upn = 'svc-rotate@contoso.onmicrosoft.com';
  const first = await provisioned(upn);
  const before = await control.state();
  const changedBefore = sandboxView(before).user(upn)?.lastPasswordChangeDateTime;
  const versionsBefore = before.secretVersions[secretOf(upn)]!;
  await new Promise((r) => setTimeout(r, 20));

  const handle = await tw.client.workflow.start(ROTATE_PASSWORD_WORKFLOW_TYPE, {
    taskQueue: tw.taskQueue,
    workflowId: rotationWorkflowIdFor('contoso-prod', upn),
    args: [
      { environment: 'contoso-prod', userPrincipalName: upn, entraObjectId: first.entraObjectId, timing: FAST_TIMING },
    ],
  });
  const result: RotationResult = await handle.result();
  const after = await control.state();
  const versions = after.secretVersions[secretOf(upn)]!;
  expect(versions).toHaveLength(versionsBefore.length + 1);
  expect(result.passwordSecretId).toBe(`${sandbox.url}/secrets/${secretOf(upn)}/${versions[versions.length - 1]}`);
  const changedAfter = sandboxView(after).user(upn)!.lastPasswordChangeDateTime;
  expect(typeof changedBefore).toBe('string');
  expect(String(changedAfter) > String(changedBefore)).toBe(true);
  expect(steps(await handle.query<DeprovisionStatus>('status'))).toEqual({
    'lock-account': 'completed',
    'rotate-password': 'completed',
  });
  const history = JSON.stringify(await handle.fetchHistory());
  expect(history).not.toMatch(/"password"/);
});

async function waitForDoc(
  handle: WorkflowHandle,
  predicate: (doc: DeprovisionStatus) => boolean,
  timeoutMs = 30_000,
): Promise<DeprovisionStatus> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const doc = await deprovisionStatus(handle).catch(() => null);
    if (doc && predicate(doc)) return doc;
    if (Date.now() > until) throw new Error(`status condition not reached; last: ${JSON.stringify(doc)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
