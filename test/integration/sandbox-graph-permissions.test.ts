// Contract tests of the sandbox's Graph authorization through the real Graph SDK client and
// @azure/identity: each call the service makes succeeds with one of the application permissions
// Microsoft's table lists for it and fails with Graph's 403 Authorization_RequestDenied without;
// `passwordProfile` on an existing user also takes a directory role; permissions and roles reach
// only tokens issued after a change (`roles`, `wids`), as Entra issues them.
import type { Client } from '@microsoft/microsoft-graph-client';
import { decodeJwt } from 'jose';
import {
  DOMAIN,
  GRAPH_SCOPE,
  SKU_ID,
  createUser,
  credential,
  graphClient,
  graphClientWithToken,
  graphError,
  password,
} from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';
import type { ClientSettings } from '../../sandbox/types';

const { sandbox, control, graph } = useSandbox({ reset: true });

// The client under test; the provisioner (`graph`) arranges what each test needs.
const CLIENT = 'operator-client';
const USER_ADMINISTRATOR = 'fe930be7-5e62-47db-91af-98c3a49a38b1';
const DENIED = { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' };

/** Gives the client these settings and returns a Graph client with a token issued after them. */
async function as(settings: Partial<ClientSettings>): Promise<Client> {
  await control.config({ clients: { [CLIENT]: { permissions: [], directoryRoles: [], ...settings } } });
  return graphClient(sandbox, credential(sandbox, CLIENT));
}

async function groupId(): Promise<string> {
  return (await control.state()).groups[0]!.id;
}

async function denied(call: Promise<unknown>): Promise<void> {
  const err = await graphError(call);
  expect(err.status).toBe(403);
  expect(err.body.error).toMatchObject(DENIED);
  expect(Object.keys(err.body.error.innerError).sort()).toEqual(['client-request-id', 'date', 'request-id']);
}

const newUser = (name: string) => ({
  accountEnabled: true,
  displayName: name,
  mailNickname: name,
  userPrincipalName: `${name}@${DOMAIN}`,
  usageLocation: 'US',
  passwordProfile: { password: password(), forceChangePasswordNextSignIn: false },
});

type Call = (g: Client, id: string, group: string) => Promise<unknown>;
const memberRef = (id: string) => ({ '@odata.id': `${sandbox.url}/v1.0/directoryObjects/${id}` });
const addLicense = { addLicenses: [{ skuId: SKU_ID }], removeLicenses: [] };

// [call, a permission that allows it, a permission that does not, the call]
const CALLS: [string, string, string, Call][] = [
  ['POST /users', 'User.ReadWrite.All', 'User.Read.All', (g) => g.api('/users').post(newUser(`made-${Date.now()}`))],
  ['GET /users/{id}', 'User.Read.All', 'LicenseAssignment.ReadWrite.All', (g, id) => g.api(`/users/${id}`).get()],
  ['GET /users', 'User.Read.All', 'GroupMember.ReadWrite.All', (g) => g.api('/users').top(5).get()],
  [
    'PATCH /users/{id}',
    'User.ReadWrite.All',
    'User.Read.All',
    (g, id) => g.api(`/users/${id}`).patch({ jobTitle: 'x' }),
  ],
  ['DELETE /users/{id}', 'User.ReadWrite.All', 'Directory.ReadWrite.All', (g, id) => g.api(`/users/${id}`).delete()],
  [
    'POST /users/{id}/assignLicense',
    'LicenseAssignment.ReadWrite.All',
    'User.Read.All',
    (g, id) => g.api(`/users/${id}/assignLicense`).post(addLicense),
  ],
  [
    'GET /subscribedSkus',
    'LicenseAssignment.Read.All',
    'LicenseAssignment.ReadWrite.All',
    (g) => g.api('/subscribedSkus').get(),
  ],
  [
    'POST /groups/{id}/members/$ref',
    'GroupMember.ReadWrite.All',
    'GroupMember.Read.All',
    (g, id, group) => g.api(`/groups/${group}/members/$ref`).post(memberRef(id)),
  ],
  [
    'GET /groups/{id}/members',
    'GroupMember.Read.All',
    'User.Read.All',
    (g, _id, group) => g.api(`/groups/${group}/members`).get(),
  ],
];

describe('application permissions per call', () => {
  test.each(CALLS)('%s: allowed with %s, 403 with %s', async (_name, allowed, other, call) => {
    const id = await createUser(graph, `target-${Date.now()}@${DOMAIN}`);
    const group = await groupId();
    await denied(call(await as({ permissions: [other] }), id, group));
    await call(await as({ permissions: [allowed] }), id, group);
  });

  test('DELETE /groups/{id}/members/{id}/$ref needs GroupMember.ReadWrite.All (or Group/Directory.ReadWrite.All)', async () => {
    const id = await createUser(graph, `leaver@${DOMAIN}`);
    const group = await groupId();
    await graph.api(`/groups/${group}/members/$ref`).post({ '@odata.id': `${sandbox.url}/v1.0/users/${id}` });
    await denied(
      (await as({ permissions: ['GroupMember.Read.All'] })).api(`/groups/${group}/members/${id}/$ref`).delete(),
    );
    await (await as({ permissions: ['Group.ReadWrite.All'] })).api(`/groups/${group}/members/${id}/$ref`).delete();
  });

  test('subscribedSkus takes Organization.Read.All or Directory.Read.All too; assigning licenses does not read them', async () => {
    for (const permission of ['Organization.Read.All', 'Directory.Read.All']) {
      await (await as({ permissions: [permission] })).api('/subscribedSkus').get();
    }
    await denied(
      (await as({ permissions: ['LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All'] }))
        .api('/subscribedSkus')
        .get(),
    );
  });

  test('members of a group, for a caller that may not read users: type and id only', async () => {
    const id = await createUser(graph, `limited@${DOMAIN}`);
    const group = await groupId();
    await graph.api(`/groups/${group}/members/$ref`).post({ '@odata.id': `${sandbox.url}/v1.0/users/${id}` });
    const limited = (await (
      await as({ permissions: ['GroupMember.Read.All'] })
    )
      .api(`/groups/${group}/members`)
      .get()) as {
      value: Record<string, unknown>[];
    };
    expect(limited.value[0]).toMatchObject({ '@odata.type': '#microsoft.graph.user', id, userPrincipalName: null });
    const full = (await graph.api(`/groups/${group}/members`).get()) as { value: Record<string, unknown>[] };
    expect(full.value[0]).toMatchObject({ id, userPrincipalName: `limited@${DOMAIN}` });
  });
});

describe('passwordProfile', () => {
  test('creating a user with a password needs only User.ReadWrite.All', async () => {
    const created = (await (
      await as({ permissions: ['User.ReadWrite.All'] })
    )
      .api('/users')
      .post(newUser('pw-new'))) as {
      id: string;
    };
    expect((await control.state()).users.find((u) => u.id === created.id)?.passwordSet).toBe(true);
  });

  test('on an existing user it needs User.ReadWrite.All and the User Administrator role (or higher)', async () => {
    const id = await createUser(graph, `pw-reset@${DOMAIN}`);
    const patch = (g: Client) => g.api(`/users/${id}`).patch(newPassword());
    await denied(patch(await as({ permissions: ['User.ReadWrite.All'] })));
    await denied(patch(await as({ permissions: ['Directory.ReadWrite.All'], directoryRoles: ['User Administrator'] })));
    await denied(patch(await as({ permissions: ['User.ReadWrite.All'], directoryRoles: ['Groups Administrator'] })));
    await patch(await as({ permissions: ['User.ReadWrite.All'], directoryRoles: ['User Administrator'] }));
    for (const role of ['Privileged Authentication Administrator', 'Global Administrator']) {
      await patch(await as({ permissions: ['User.ReadWrite.All'], directoryRoles: [role] }));
    }
    // The other properties of the same PATCH need no role.
    await (await as({ permissions: ['User.ReadWrite.All'] })).api(`/users/${id}`).patch({ jobTitle: 'Integration' });
  });

  test('the seeded provisioner holds the role: it can reset a password with no configuration', async () => {
    const id = await createUser(graph, `pw-seed@${DOMAIN}`);
    await graph.api(`/users/${id}`).patch(newPassword());
  });
});

describe('tokens carry the settings in force when they were issued', () => {
  test("the provisioner's Graph token: its permissions in roles, User Administrator in wids", async () => {
    const claims = decodeJwt((await credential(sandbox).getToken(GRAPH_SCOPE)).token);
    expect(claims.roles).toEqual([
      'User.ReadWrite.All',
      'LicenseAssignment.ReadWrite.All',
      'GroupMember.ReadWrite.All',
      'LicenseAssignment.Read.All',
    ]);
    expect(claims.wids).toEqual([USER_ADMINISTRATOR, '0997a1d0-0d1d-4acb-b408-d5ca73121e90']);
  });

  test('a change reaches new tokens only; a token issued before keeps what it had', async () => {
    await as({ permissions: ['User.Read.All'] });
    const before = (await credential(sandbox, CLIENT).getToken(GRAPH_SCOPE)).token;
    await as({ permissions: [] });
    await graphClientWithToken(sandbox, before).api('/users').get();
    await denied(graphClient(sandbox, credential(sandbox, CLIENT)).api('/users').get());
    expect(decodeJwt((await credential(sandbox, CLIENT).getToken(GRAPH_SCOPE)).token).roles).toBeUndefined();

    // A directory role given after the token was issued is not in it: a new token is needed.
    const id = await createUser(graph, `pw-late@${DOMAIN}`);
    await as({ permissions: ['User.ReadWrite.All'] });
    const old = (await credential(sandbox, CLIENT).getToken(GRAPH_SCOPE)).token;
    await control.config({ clients: { [CLIENT]: { directoryRoles: ['User Administrator'] } } });
    await denied(graphClientWithToken(sandbox, old).api(`/users/${id}`).patch(newPassword()));
    await graphClient(sandbox, credential(sandbox, CLIENT)).api(`/users/${id}`).patch(newPassword());
  });
});

function newPassword() {
  return { passwordProfile: { password: password(), forceChangePasswordNextSignIn: false } };
}
