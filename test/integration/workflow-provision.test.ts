// The provisioning workflow on the real dev server, with a real
// worker, against the sandbox over HTTPS with the real Microsoft client libraries.
import {
  FAST_SYNC,
  createForeignUser,
  failureTypeOf,
  provisionInput,
  sandboxView,
  startProvision,
  startTestWorker,
  statusOf,
  stepStatus,
  testTaskQueue,
  type TestWorker,
} from '../helpers/worker';
import { useSandboxAndWorker } from '../helpers/lifecycle';
import { SKU_PART } from '../helpers/sandbox';
import { STEP_NAMES } from '../../workflows/types';
import { SecretClient } from '@azure/keyvault-secrets';
import { createTokenSource } from '../../activities/credential';
import { meetsEntraComplexity } from '../../activities/password';
import { vaultCredential } from '../../activities/keyvault';

const { sandbox, control, worker: tw } = useSandboxAndWorker('provision', { reset: FAST_SYNC });

test('happy path: eight steps completed; user unlicensed, mode 4 with its roles; seats back', async () => {
  const upn = 'svc-happy@contoso.onmicrosoft.com';
  const before = sandboxView(await control.state());
  const seatsBefore = before.seatsUsed(SKU_PART);
  const handle = await startProvision(tw, provisionInput(upn, { securityRoles: ['Basic User', 'Integration User'] }));
  const result = await handle.result();
  const doc = await statusOf(handle);

  expect(doc.status).toBe('succeeded');
  expect(doc.steps.map((s) => [s.name, s.status])).toEqual(STEP_NAMES.map((n) => [n, 'completed']));
  // The run leaves its final steps in its result (the API reads a closed request from there).
  const { steps, ...provisioned } = result;
  expect(doc.result).toEqual(provisioned);
  expect(steps).toEqual(doc.steps);
  expect(result.accessMode).toBe('non-interactive');

  const after = sandboxView(await control.state());
  const user = after.user(upn);
  expect(user?.id).toBe(result.entraObjectId);
  expect(user?.assignedLicenses ?? []).toEqual([]);
  expect(user?.employeeType).toBe('NonInteractiveIntegration');
  expect(user?.passwordPolicies).toBe('DisablePasswordExpiration'); // the environment's default
  const su = after.systemUser('contoso-prod', result.entraObjectId);
  expect(su?.systemuserid).toBe(result.systemUserId);
  expect(su?.accessmode).toBe(4);
  expect(su?.isdisabled).toBe(false);
  expect(after.roleNames('contoso-prod', su!.roles).sort()).toEqual(['Basic User', 'Integration User']);
  expect(after.seatsUsed(SKU_PART)).toBe(seatsBefore);

  // Search attributes were kept current: the last step is visible to operators.
  const description = await handle.describe();
  expect(description.searchAttributes.NiuStep).toEqual(['verify-access-mode']);
});

test('the calls to Microsoft on the path: the SKU read once, the row back from the PATCH, no addUser once the user is there', async () => {
  const upn = 'svc-calls@contoso.onmicrosoft.com';
  // The background sync brings the user; addUser answers "not licensed" all along.
  await control.config({ syncDelayMs: 600, licensePropagationMs: 60_000 });
  await control.clearRequests();
  const handle = await startProvision(tw, provisionInput(upn));
  const { systemUserId } = await handle.result();
  const calls = (await control.requests()).map((r) => `${r.method} ${r.path}`);
  // The assignment reads the seats; the removal knows the SKU's id by then.
  expect(calls.filter((c) => /^GET \/v1\.0\/subscribedSkus/.test(c))).toHaveLength(1);
  // The PATCH answers with the row: the only read of the user by id is the verification's.
  const byId = (method: string) =>
    calls.filter((c) => c.startsWith(`${method} `) && c.includes(`systemusers(${systemUserId})`));
  expect(byId('PATCH')).toHaveLength(1);
  expect(byId('GET')).toHaveLength(1);
  expect(calls.indexOf(byId('GET')[0]!)).toBeGreaterThan(calls.indexOf(byId('PATCH')[0]!));
  // Every look looked; all but the one that found the user also forced the sync.
  const looks = calls.filter((c) => /^GET .*systemusers\?.*azureactivedirectoryobjectid/.test(c)).length;
  expect(looks).toBeGreaterThanOrEqual(2);
  expect(calls.filter((c) => /addUser/.test(c))).toHaveLength(looks - 1);
});

test('a foreign account with the same UPN: upn-conflict, the account untouched', async () => {
  const upn = 'svc-foreign@contoso.onmicrosoft.com';
  // Someone else's account, created directly in Graph through the sandbox's token endpoint.
  await createForeignUser(tw.config, upn);
  const before = sandboxView(await control.state()).user(upn);
  const handle = await startProvision(tw, provisionInput(upn));
  expect(await failureTypeOf(handle)).toBe('upn-conflict');
  const doc = await statusOf(handle);
  expect(doc.status).toBe('failed');
  expect(doc.error?.type).toBe('upn-conflict');
  expect(stepStatus(doc, 'create-entra-user')).toBe('failed');
  expect(stepStatus(doc, 'assign-license')).toBe('pending');
  const after = sandboxView(await control.state()).user(upn);
  expect(after).toEqual(before);
});

test('no free seats: license-unavailable, the created user deleted again', async () => {
  const upn = 'svc-noseat@contoso.onmicrosoft.com';
  const state = sandboxView(await control.state());
  // Exactly as many seats as are consumed: none free.
  await control.config({ skus: { [SKU_PART]: { seats: state.seatsUsed(SKU_PART) } } });
  const handle = await startProvision(tw, provisionInput(upn));
  expect(await failureTypeOf(handle)).toBe('license-unavailable');
  const doc = await statusOf(handle);
  expect(doc.status).toBe('failed');
  expect(stepStatus(doc, 'assign-license')).toBe('failed');
  expect(stepStatus(doc, 'create-entra-user')).toBe('compensated');
  expect(stepStatus(doc, 'reserve-capacity')).toBe('compensated');
  expect(sandboxView(await control.state()).user(upn)).toBeUndefined();
});

test('an undo that fails for good is reported: the run keeps its own error, the step says to undo it by hand', async () => {
  const upn = 'svc-undo-refused@contoso.onmicrosoft.com';
  const state = sandboxView(await control.state());
  await control.config({ skus: { [SKU_PART]: { seats: state.seatsUsed(SKU_PART) } } });
  // Graph refuses the compensation's delete (403: permission-denied, which compensation does not retry).
  await control.faults([{ service: 'graph', method: 'DELETE', path: '^/v1\\.0/users/', status: 403, rate: 1 }]);
  const handle = await startProvision(tw, provisionInput(upn));
  expect(await failureTypeOf(handle)).toBe('license-unavailable');
  const doc = await statusOf(handle);
  const create = doc.steps.find((s) => s.name === 'create-entra-user')!;
  expect(create.status).toBe('completed');
  expect(create.detail).toMatch(/^could not be undone, undo it by hand: /);
  expect(stepStatus(doc, 'reserve-capacity')).toBe('compensated'); // the undos before it still ran
  expect(sandboxView(await control.state()).user(upn)).toBeDefined();
});

test('the worker is not a registered management application: its own failure type, naming the fix; compensated', async () => {
  const upn = 'svc-no-management-app@contoso.onmicrosoft.com';
  await control.config({ clients: { 'provisioner-client': { managementApp: false } } });
  const handle = await startProvision(tw, provisionInput(upn));
  expect(await failureTypeOf(handle)).toBe('management-app-not-registered');
  const doc = await statusOf(handle);
  expect(doc.error?.message).toContain('pac admin application register --application-id provisioner-client');
  expect(stepStatus(doc, 'await-dataverse-user')).toBe('failed');
  expect(stepStatus(doc, 'assign-license')).toBe('compensated');
  expect(stepStatus(doc, 'create-entra-user')).toBe('compensated');
  expect(sandboxView(await control.state()).user(upn)).toBeUndefined();
});

test('revert window on: verify-access-mode restores mode 4 and succeeds (roles skipped)', async () => {
  const upn = 'svc-revert@contoso.onmicrosoft.com';
  await control.config({ revertWindowMs: 60_000 });
  const handle = await startProvision(tw, provisionInput(upn));
  const result = await handle.result();
  const doc = await statusOf(handle);
  expect(doc.status).toBe('succeeded');
  expect(stepStatus(doc, 'assign-security-roles')).toBe('skipped');
  const verify = doc.steps.find((s) => s.name === 'verify-access-mode')!;
  expect(verify.status).toBe('completed');
  expect(verify.attempts).toBeGreaterThanOrEqual(2); // the re-apply
  const su = sandboxView(await control.state()).systemUser('contoso-prod', result.entraObjectId);
  expect(su?.accessmode).toBe(4);
  expect(su?.revertedOnce).toBe(true);
});

describe('with a Key Vault configured', () => {
  let kv: TestWorker;
  beforeAll(async () => {
    kv = await startTestWorker({
      sandboxUrl: sandbox.url,
      taskQueue: testTaskQueue('provision-kv'),
      env: { KEYVAULT_URL: sandbox.url, KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true' },
    });
  });
  afterAll(async () => {
    await kv?.stop();
  });

  test('the generated password goes to the vault only: the result and the history carry its id, never the value', async () => {
    const upn = 'svc-vault@contoso.onmicrosoft.com';
    const handle = await startProvision(kv, provisionInput(upn));
    const result = await handle.result();
    expect(result.passwordSecretId).toMatch(
      new RegExp(`^${sandbox.url}/secrets/niu-svc-vault-contoso-onmicrosoft-com/`),
    );

    const secrets = new SecretClient(sandbox.url, vaultCredential(createTokenSource(kv.config).credential), {
      disableChallengeResourceVerification: true,
    });
    const secret = await secrets.getSecret('niu-svc-vault-contoso-onmicrosoft-com');
    expect(secret.properties.id).toBe(result.passwordSecretId);
    expect(meetsEntraComplexity(secret.value!)).toBe(true);
    expect(secret.properties.tags).toEqual({ environment: 'contoso-prod', requestId: handle.workflowId });
    expect(sandboxView(await control.state()).user(upn)).toMatchObject({ passwordSet: true });

    // Nowhere in the workflow's history, not even inside encoded payloads.
    const history = JSON.stringify(await handle.fetchHistory());
    const decoded = [...history.matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) =>
      Buffer.from(m[1]!, 'base64').toString('utf8'),
    );
    expect(decoded.length).toBeGreaterThan(0);
    expect(history.includes(secret.value!)).toBe(false);
    expect(decoded.some((d) => d.includes(secret.value!))).toBe(false);
  });
});
