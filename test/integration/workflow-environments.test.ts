// The environments file as a real tenant's is written, on the real dev server with a real worker
// against the sandbox: without `powerPlatformEnvironmentId` (the worker finds the environment's
// id in the admin API's list by its Dataverse URL, once), and with a Dataverse URL the admin API
// does not know (the request fails `unknown-environment`, naming the URL); `passwordExpires`;
// `securityGroupId`; a security group set on an environment after the worker read it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { failureTypeOf, provisionInput, sandboxView, startProvision, statusOf, stepStatus } from '../helpers/worker';
import { useSandbox, useWorker } from '../helpers/lifecycle';
import { DOMAIN, SKU_PART } from '../helpers/sandbox';

const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'niu-environments-')), 'environments.json');
const { sandbox, control } = useSandbox({ reset: true });

const entry = (name: string, dataverseUrl: string, extra: Record<string, unknown> = {}) => ({
  name,
  dataverseUrl,
  licenseSku: SKU_PART,
  usageLocation: 'US',
  allowedUpnDomains: [DOMAIN],
  ...extra,
});
/** Another spelling of the sandbox's host: Dataverse answers there, the admin API lists 127.0.0.1. */
const elsewhere = () => `https://localhost:${sandbox.port}/dataverse/contoso-test`;

/** The seeded group's id. */
let groupId = '';
const groupMembers = async () => (await control.state()).groups.find((g) => g.id === groupId)!.members;

beforeAll(async () => {
  groupId = (await control.state()).groups[0]!.id;
  writeFileSync(
    file,
    JSON.stringify({
      environments: [
        // Named unlike the admin API's environment, with the trailing slash the admin API writes.
        entry('erp', `${sandbox.url}/dataverse/contoso-prod/`),
        entry('elsewhere', elsewhere()),
        entry('expiring', `${sandbox.url}/dataverse/contoso-test`, { passwordExpires: true }),
        // The file names the group: the worker does not ask the admin API for it.
        entry('grouped', `${sandbox.url}/dataverse/contoso-test`, { securityGroupId: groupId.toUpperCase() }),
      ],
    }),
  );
});
const tw = useWorker(sandbox, 'environments', { env: { ENVIRONMENTS_FILE: file } });

test('no powerPlatformEnvironmentId: the id is found from the Dataverse URL, once per worker', async () => {
  // Only addUser brings the user in time: the background sync is an hour away.
  await control.config({ syncDelayMs: 3_600_000, licensePropagationMs: 200 });
  await control.clearRequests();
  const ids: string[] = [];
  for (const name of ['svc-env-a', 'svc-env-b']) {
    const handle = await startProvision(tw, provisionInput(`${name}@${DOMAIN}`, { environment: 'erp' }));
    ids.push((await handle.result()).entraObjectId);
    expect((await statusOf(handle)).status).toBe('succeeded');
  }
  const calls = (await control.requests({ service: 'powerplatform' })).map((r) => `${r.method} ${r.path}`);
  expect(calls.filter((c) => /\/scopes\/admin\/environments\?/.test(c))).toEqual([
    'GET /providers/Microsoft.BusinessAppPlatform/scopes/admin/environments?api-version=2023-06-01',
  ]);
  const addUser = calls.filter((c) => c.includes('/addUser'));
  expect(addUser.length).toBeGreaterThanOrEqual(2);
  expect(addUser.every((c) => c.includes('/scopes/admin/environments/contoso-prod/addUser?'))).toBe(true);
  const state = sandboxView(await control.state());
  for (const id of ids) expect(state.systemUser('contoso-prod', id)?.accessmode).toBe(4);
});

test('a Dataverse URL the admin API does not list: unknown-environment naming it, compensated', async () => {
  const upn = `svc-env-elsewhere@${DOMAIN}`;
  const handle = await startProvision(tw, provisionInput(upn, { environment: 'elsewhere' }));
  expect(await failureTypeOf(handle)).toBe('unknown-environment');
  const doc = await statusOf(handle);
  expect(doc.error?.message).toContain(`no Power Platform environment has the Dataverse URL ${elsewhere()}`);
  expect(stepStatus(doc, 'await-dataverse-user')).toBe('failed');
  expect(stepStatus(doc, 'create-entra-user')).toBe('compensated');
  expect(sandboxView(await control.state()).user(upn)).toBeUndefined();
});

test("passwordExpires: true leaves the account under the tenant's expiry policy", async () => {
  await control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
  const upn = `svc-env-expiring@${DOMAIN}`;
  const handle = await startProvision(tw, provisionInput(upn, { environment: 'expiring' }));
  await handle.result();
  const user = sandboxView(await control.state()).user(upn);
  expect(user).toBeDefined();
  expect(user?.passwordPolicies ?? null).toBeNull();
});

test('securityGroupId in the file: the account joins that group, the admin API is not asked for it', async () => {
  await control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
  await control.clearRequests();
  const handle = await startProvision(tw, provisionInput(`svc-env-grouped@${DOMAIN}`, { environment: 'grouped' }));
  const { entraObjectId } = await handle.result();
  expect(await groupMembers()).toEqual([entraObjectId]);
  const reads = await control.requests({ service: 'powerplatform', method: 'GET', path: '/environments/contoso-test' });
  expect(reads).toEqual([]);
});

test('a group set after the worker read none: the request fails naming it, and the next one joins it', async () => {
  await control.config({ syncDelayMs: 3_600_000, licensePropagationMs: 0 });
  // The worker reads (and keeps) the environment's group: none yet.
  await (await startProvision(tw, provisionInput(`svc-env-before@${DOMAIN}`, { environment: 'erp' }))).result();
  await control.config({ environments: { 'contoso-prod': { securityGroupId: groupId } } });
  const upn = `svc-env-restricted@${DOMAIN}`;
  const first = await startProvision(tw, provisionInput(upn, { environment: 'erp' }));
  expect(await failureTypeOf(first)).toBe('invalid-request');
  expect((await statusOf(first)).error?.message).toContain(
    `environment erp is restricted to security group ${groupId}, which the account did not join (the worker knew of no group)`,
  );
  const again = await startProvision(tw, provisionInput(upn, { environment: 'erp' }));
  const { entraObjectId } = await again.result();
  expect(await groupMembers()).toEqual([entraObjectId]);
});
