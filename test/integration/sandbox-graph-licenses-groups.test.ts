// Contract tests of the sandbox's Microsoft Graph through the real Graph SDK client: licenses
// (assignLicense, subscribedSkus and the seats they count) and group membership (members/$ref).
import {
  DOMAIN,
  SKU_ID,
  SKU_PART,
  createUser,
  credential,
  graphClient,
  graphError,
  license,
  unlicense,
} from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';

const { sandbox, control, graph } = useSandbox({ reset: true });

describe('licenses', () => {
  async function seats() {
    const skus = (await graph.api('/subscribedSkus').get()) as {
      value: {
        skuId: string;
        skuPartNumber: string;
        consumedUnits: number;
        prepaidUnits: { enabled: number; warning: number };
      }[];
    };
    return skus.value.find((s) => s.skuPartNumber === SKU_PART)!;
  }

  test('subscribedSkus lists the seeded SKU with 25 seats and counts consumed units', async () => {
    const before = await seats();
    expect(before).toMatchObject({ skuId: SKU_ID, consumedUnits: 0, prepaidUnits: { enabled: 25, warning: 0 } });
    const id = await createUser(graph, `lic@${DOMAIN}`);
    await license(graph, id);
    await license(graph, id); // assigning an assigned license changes nothing
    expect((await seats()).consumedUnits).toBe(1);
    const user = (await graph.api(`/users/${id}`).select('assignedLicenses').get()) as {
      assignedLicenses: { skuId: string }[];
    };
    expect(user.assignedLicenses).toEqual([{ skuId: SKU_ID, disabledPlans: [] }]);
    await unlicense(graph, id);
    expect((await seats()).consumedUnits).toBe(0);
  });

  test('assignLicense answers 200 with the user', async () => {
    const id = await createUser(graph, `lic2@${DOMAIN}`);
    const res = (await graph
      .api(`/users/${id}/assignLicense`)
      .post({ addLicenses: [{ skuId: SKU_ID, disabledPlans: [] }], removeLicenses: [] })) as Record<string, unknown>;
    expect(res).toMatchObject({ id, userPrincipalName: `lic2@${DOMAIN}` });
  });

  test('licensing needs a usage location', async () => {
    const id = await createUser(graph, `noloc@${DOMAIN}`, { usageLocation: undefined });
    const err = await graphError(license(graph, id));
    expect(err.status).toBe(400);
    expect(err.code).toBe('Request_BadRequest');
    expect(err.body.error.message).toBe('License assignment cannot be done for user with invalid usage location.');
  });

  test('no free seats, an unknown SKU and removing a license the user lacks are errors', async () => {
    await control.config({ skus: { [SKU_PART]: { seats: 1 } } });
    const a = await createUser(graph, `a@${DOMAIN}`);
    const b = await createUser(graph, `b@${DOMAIN}`);
    await license(graph, a);
    const full = await graphError(license(graph, b));
    expect(full.status).toBe(400);
    expect(full.body.error.message).toMatch(/does not have any available licenses\.$/);
    const unknown = await graphError(license(graph, b, '00000000-0000-0000-0000-000000000001'));
    expect(unknown.body.error.message).toMatch(/does not correspond to a valid company License/);
    const lacking = await graphError(unlicense(graph, b));
    expect(lacking.body.error.message).toBe('User does not have a corresponding license.');
    const missing = await graphError(graph.api(`/users/${b}/assignLicense`).post({ addLicenses: [] }));
    expect(missing.body.error.message).toMatch(/missing parameters are: removeLicenses/);
    const state = await control.state();
    expect(state.skus.find((s) => s.skuPartNumber === SKU_PART)).toMatchObject({
      seats: 1,
      consumedUnits: 1,
      available: 0,
    });
  });

  test('deleting a licensed user frees its seat', async () => {
    const id = await createUser(graph, `del@${DOMAIN}`);
    await license(graph, id);
    expect((await seats()).consumedUnits).toBe(1);
    await graph.api(`/users/${id}`).delete();
    expect((await seats()).consumedUnits).toBe(0);
  });
});

describe('group membership', () => {
  test('members/$ref adds, lists, rejects duplicates and removes', async () => {
    const groups = (await graph.api('/groups').filter("displayName eq 'Dynamics Non-Interactive Users'").get()) as {
      value: { id: string }[];
    };
    const groupId = groups.value[0]!.id;
    const id = await createUser(graph, `member@${DOMAIN}`);
    const ref = { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` };
    await graph.api(`/groups/${groupId}/members/$ref`).post(ref);
    const members = (await graph.api(`/groups/${groupId}/members`).get()) as {
      value: { id: string; '@odata.type': string }[];
    };
    expect(members.value).toEqual([expect.objectContaining({ id, '@odata.type': '#microsoft.graph.user' })]);
    // Another user's memberOf takes Directory.Read.All in app-only access (in a new token).
    expect((await graphError(graph.api(`/users/${id}/memberOf`).get())).status).toBe(403);
    const { permissions } = (await control.getConfig()).clients['provisioner-client']!;
    await control.config({
      clients: { 'provisioner-client': { permissions: [...permissions, 'Directory.Read.All'] } },
    });
    const reader = graphClient(sandbox, credential(sandbox));
    const memberOf = (await reader.api(`/users/${id}/memberOf`).get()) as { value: { id: string }[] };
    expect(memberOf.value.map((g) => g.id)).toEqual([groupId]);
    const dup = await graphError(graph.api(`/groups/${groupId}/members/$ref`).post(ref));
    expect(dup.status).toBe(400);
    expect(dup.body.error).toMatchObject({
      code: 'Request_BadRequest',
      message: "One or more added object references already exist for the following modified properties: 'members'.",
    });
    await graph.api(`/groups/${groupId}/members/${id}/$ref`).delete();
    expect(((await graph.api(`/groups/${groupId}/members`).get()) as { value: unknown[] }).value).toEqual([]);
    expect((await graphError(graph.api(`/groups/${groupId}/members/${id}/$ref`).delete())).status).toBe(404);
  });
});
