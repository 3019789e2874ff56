// Contract tests of the sandbox's Power Platform admin API authorization and environment security
// groups, called with fetch and the service's own activities/http.ts: only a registered
// management application may call the admin API; an environment restricted to a security group
// shows it beside its Dataverse URL, and takes only the group's members, through addUser and
// through the background sync. Also the control API's `clients` and `securityGroupId` settings.
import type { ApplicationFailure } from '@temporalio/common';
import { decodeJwt } from 'jose';
import { requestJson } from '../../activities/http';
import {
  DOMAIN,
  POWERPLATFORM_SCOPE,
  SandboxControlError,
  addUser,
  createUser,
  credential,
  dataverseClient,
  license,
  sleep,
} from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';

const SYNC_MS = 300;
const { sandbox, control, graph } = useSandbox({ reset: { syncDelayMs: SYNC_MS, licensePropagationMs: 0 } });

const ADMIN = '/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments';
const VERSION = 'api-version=2023-06-01';
const PROD = 'contoso-prod';
const TEST = 'contoso-test';

interface EnvironmentDoc {
  id: string;
  name: string;
  type: string;
  properties: {
    displayName: string;
    linkedEnvironmentMetadata: { instanceUrl: string; instanceApiUrl: string; securityGroupId?: string };
  };
}

const token = async (clientId = 'provisioner-client') =>
  (await credential(sandbox, clientId).getToken(POWERPLATFORM_SCOPE)).token;

/** GET on the admin API as the service does it (activities/http.ts). */
async function adminGet<T>(path: string, clientId?: string): Promise<T> {
  const url = `${sandbox.url}${ADMIN}${path}?${VERSION}`;
  return (await requestJson<T>({ service: 'powerplatform', method: 'GET', url, token: await token(clientId) })).body;
}

async function group(): Promise<string> {
  return (await control.state()).groups.find((g) => g.displayName === 'Dynamics Non-Interactive Users')!.id;
}

async function systemUsers(env: string, objectId: string) {
  const found = await dataverseClient(sandbox, env).retrieveMultiple<{ isdisabled: boolean }>({
    collection: 'systemusers',
    select: ['isdisabled'],
    filter: `azureactivedirectoryobjectid eq ${objectId}`,
  });
  return found.value!;
}

async function licensedUser(name: string): Promise<string> {
  const id = await createUser(graph, `${name}@${DOMAIN}`);
  await license(graph, id);
  return id;
}

describe('management application', () => {
  test('an application that is not registered gets BAP 403 on every admin call', async () => {
    const operator = await token('operator-client');
    const res = await fetch(`${sandbox.url}${ADMIN}?${VERSION}`, { headers: { authorization: `Bearer ${operator}` } });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: {
        code: 'Forbidden',
        message: `The service principal with id '${decodeJwt(operator).oid}' for application operator-client does not have permission to access the path '${sandbox.url}${ADMIN}?${VERSION}' in tenant ${sandbox.tenantId}.`,
      },
    });
    // The service's HTTP layer reports it as a missing registration.
    const err = (await adminGet('', 'operator-client').catch((e: unknown) => e)) as ApplicationFailure;
    expect(err.type).toBe('management-app-not-registered');
    expect(err.message).toMatch(/does not have permission to access the path/);
  });

  test('managementApp switches the registration for the next call, without a new token', async () => {
    const id = await licensedUser('mgmt');
    const bearer = await token();
    expect((await addUser(sandbox, PROD, id, bearer)).status).toBe(200);
    await control.config({ clients: { 'provisioner-client': { managementApp: false } } });
    const refused = await addUser(sandbox, PROD, id, bearer);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: { code: 'Forbidden' } });
    await control.config({ clients: { 'operator-client': { managementApp: true } } });
    expect((await adminGet<{ value: unknown[] }>('', 'operator-client')).value).toHaveLength(2);
  });
});

describe('environments and their security group', () => {
  test('list and get show the Dataverse URL, and the security group only once one is set', async () => {
    const list = await adminGet<{ value: EnvironmentDoc[] }>('');
    expect(list.value.map((e) => e.id)).toEqual([`${ADMIN}/${PROD}`, `${ADMIN}/${TEST}`]);
    const prod = await adminGet<EnvironmentDoc>(`/${PROD}`);
    expect(prod).toEqual(list.value[0]);
    expect(prod).toMatchObject({
      name: PROD,
      type: 'Microsoft.BusinessAppPlatform/scopes/environments',
      properties: {
        displayName: PROD,
        linkedEnvironmentMetadata: {
          instanceUrl: `${sandbox.url}/dataverse/${PROD}/`,
          instanceApiUrl: `${sandbox.url}/dataverse/${PROD}`,
        },
      },
    });
    expect(prod.properties.linkedEnvironmentMetadata).not.toHaveProperty('securityGroupId');
    const groupId = await group();
    await control.config({ environments: { [PROD]: { securityGroupId: groupId } } });
    const restricted = await adminGet<EnvironmentDoc>(`/${PROD}`);
    expect(restricted.properties.linkedEnvironmentMetadata.securityGroupId).toBe(groupId);
    const [listed] = (await adminGet<{ value: EnvironmentDoc[] }>('')).value;
    expect(listed!.properties.linkedEnvironmentMetadata.securityGroupId).toBe(groupId);
    await control.config({ environments: { [PROD]: { securityGroupId: null } } });
    expect((await adminGet<EnvironmentDoc>(`/${PROD}`)).properties.linkedEnvironmentMetadata).not.toHaveProperty(
      'securityGroupId',
    );
  });

  test('addUser refuses a user outside the group with userNotPartOfSecurityGroup; a member is added', async () => {
    const groupId = await group();
    await control.config({ environments: { [PROD]: { securityGroupId: groupId } } });
    const id = await licensedUser('outsider');
    const refused = await addUser(sandbox, PROD, id);
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      errors: [
        {
          Subject: 'Result',
          Description: `User ${id} is not part of security group ${groupId}`,
          Code: 'userNotPartOfSecurityGroup',
        },
        { Subject: 'InnerException', Description: null, Code: null },
        { Subject: 'AdditionalData', Description: null, Code: null },
      ],
      information: [{ Subject: 'Result', Description: expect.stringContaining('"SyncMode: Default"'), Code: null }],
    });
    expect(await systemUsers(PROD, id)).toEqual([]);
    // The unrestricted environment takes the same user.
    expect((await addUser(sandbox, TEST, id)).status).toBe(200);
    await graph.api(`/groups/${groupId}/members/$ref`).post({ '@odata.id': `${sandbox.url}/v1.0/users/${id}` });
    expect((await addUser(sandbox, PROD, id)).status).toBe(200);
    expect(await systemUsers(PROD, id)).toEqual([expect.objectContaining({ isdisabled: false })]);
  });

  test('groupPropagationMs: a new member is outside the group for addUser and the sync until it has propagated', async () => {
    const groupId = await group();
    await control.config({ groupPropagationMs: 1_000, environments: { [PROD]: { securityGroupId: groupId } } });
    const id = await licensedUser('joining');
    await graph.api(`/groups/${groupId}/members/$ref`).post({ '@odata.id': `${sandbox.url}/v1.0/users/${id}` });
    const early = await addUser(sandbox, PROD, id);
    expect(early.status).toBe(400);
    expect((early.body.errors as { Code: string }[])[0]?.Code).toBe('userNotPartOfSecurityGroup');
    await sleep(SYNC_MS * 2);
    expect(await systemUsers(PROD, id)).toEqual([]);
    await sleep(1_000);
    expect(await systemUsers(PROD, id)).toEqual([expect.objectContaining({ isdisabled: false })]);
    expect((await addUser(sandbox, PROD, id)).status).toBe(200);
  });

  test('the background sync adds only members, and disables a user that leaves the group', async () => {
    const groupId = await group();
    await control.config({ environments: { [PROD]: { securityGroupId: groupId } } });
    const id = await licensedUser('waiting');
    await sleep(SYNC_MS * 2);
    expect(await systemUsers(PROD, id)).toEqual([]);
    expect(await systemUsers(TEST, id)).toHaveLength(1);
    await graph.api(`/groups/${groupId}/members/$ref`).post({ '@odata.id': `${sandbox.url}/v1.0/users/${id}` });
    await sleep(SYNC_MS * 2);
    expect(await systemUsers(PROD, id)).toEqual([expect.objectContaining({ isdisabled: false })]);
    await graph.api(`/groups/${groupId}/members/${id}/$ref`).delete();
    await sleep(SYNC_MS * 2);
    expect(await systemUsers(PROD, id)).toEqual([expect.objectContaining({ isdisabled: true })]);
    expect(await systemUsers(TEST, id)).toEqual([expect.objectContaining({ isdisabled: false })]);
  });

  test('restricting an environment disables the users already there that are not members', async () => {
    const id = await licensedUser('before');
    expect((await addUser(sandbox, PROD, id)).status).toBe(200);
    await control.config({ environments: { [PROD]: { securityGroupId: await group() } } });
    await sleep(SYNC_MS * 2);
    expect(await systemUsers(PROD, id)).toEqual([expect.objectContaining({ isdisabled: true })]);
  });
});

describe('control API: clients and securityGroupId', () => {
  const controlError = async (p: Promise<unknown>) => {
    const err = (await p.catch((e: unknown) => e)) as SandboxControlError;
    expect(err).toBeInstanceOf(SandboxControlError);
    return { status: err.status, message: (JSON.parse(err.body) as { error: { message: string } }).error.message };
  };

  test('GET config shows the seed; PATCH validates and applies all or nothing; reset restores', async () => {
    const seeded = await control.getConfig();
    // The directory settings of each client (its credentials are sandbox-entra-certificates.test.ts's and sandbox-entra-federation.test.ts's).
    expect(seeded.clients['provisioner-client']).toMatchObject({
      permissions: [
        'User.ReadWrite.All',
        'LicenseAssignment.ReadWrite.All',
        'GroupMember.ReadWrite.All',
        'LicenseAssignment.Read.All',
      ],
      directoryRoles: ['User Administrator'],
      managementApp: true,
      keyVaultAccess: true,
    });
    expect(seeded.clients['reader-client']).toMatchObject({
      permissions: [],
      directoryRoles: [],
      managementApp: false,
      keyVaultAccess: false,
    });
    expect(seeded.environments[PROD]).toEqual({ nonInteractiveLimit: 7, securityGroupId: null });

    const cases: [unknown, string][] = [
      [{ clients: { nobody: { managementApp: true } } }, "clients: unknown client 'nobody'"],
      [{ clients: { 'reader-client': { roles: [] } } }, 'clients.reader-client.roles is not a setting'],
      [
        { clients: { 'reader-client': { managementApp: 'yes' } } },
        'clients.reader-client.managementApp must be true or false',
      ],
      [
        { clients: { 'reader-client': { keyVaultAccess: 1 } } },
        'clients.reader-client.keyVaultAccess must be true or false',
      ],
      [
        { clients: { 'reader-client': { permissions: 'User.Read.All' } } },
        'clients.reader-client.permissions must be a list of Graph permission names',
      ],
      [
        { environments: { [PROD]: { securityGroupId: 'sales' } } },
        `environments.${PROD}.securityGroupId must be a group id or null`,
      ],
      [
        { environments: { [PROD]: { securityGroupId: '00000000-0000-0000-0000-000000000001' } } },
        `environments.${PROD}.securityGroupId: no group '00000000-0000-0000-0000-000000000001' in the tenant`,
      ],
    ];
    for (const [patch, message] of cases) {
      expect(await controlError(control.config({ syncDelayMs: 1, ...(patch as object) }))).toEqual({
        status: 400,
        message,
      });
    }
    const unknownRole = await controlError(
      control.config({ clients: { 'reader-client': { directoryRoles: ['Boss'] } } }),
    );
    expect(unknownRole.message).toMatch(
      /^clients\.reader-client\.directoryRoles: unknown directory role 'Boss' \(known: /,
    );
    const typo = await controlError(
      control.config({ clients: { 'reader-client': { permissions: ['User.Read.all'] } } }),
    );
    expect(typo.message).toMatch(/unknown Graph permission 'User\.Read\.all'/);
    expect(await control.getConfig()).toEqual(seeded);

    const groupId = await group();
    const applied = await control.config({
      // Directory settings and credentials of one client in one patch: each applied.
      clients: {
        'reader-client': {
          permissions: ['User.Read.All'],
          directoryRoles: ['Global Reader'],
          federatedCredentials: [],
        },
      },
      environments: { [TEST]: { securityGroupId: groupId.toUpperCase() } },
    });
    expect(applied.clients['reader-client']).toEqual({
      permissions: ['User.Read.All'],
      directoryRoles: ['Global Reader'],
      managementApp: false,
      keyVaultAccess: false,
      certificates: [],
      federatedCredentials: [],
    });
    expect(applied.clients['provisioner-client']).toEqual(seeded.clients['provisioner-client']);
    expect(applied.environments[TEST]).toEqual({ nonInteractiveLimit: 7, securityGroupId: groupId });
    expect((await control.state()).environments[TEST]!.securityGroupId).toBe(groupId);
    await control.reset();
    const restored = await control.getConfig();
    expect([restored.clients, restored.environments]).toEqual([seeded.clients, seeded.environments]);
  });
});
