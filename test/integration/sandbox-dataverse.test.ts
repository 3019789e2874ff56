// Contract tests of the sandbox's Dataverse, driven through dynamics-web-api (the client the
// project uses) with tokens from ClientSecretCredential: the Entra sync (delay, disabling of
// unlicensed users), systemusers queries and paging, and rejection of tokens for another
// audience or a caller without an application user. Access mode, its limit and security roles:
// sandbox-dataverse-access.test.ts.
import {
  DOMAIN,
  createUser,
  credential,
  dataverseClient,
  dataverseUrl,
  license,
  sleep,
  unlicense,
} from '../helpers/sandbox';
import { PROD, SYNC_MS, TEST, dvError, findSystemUser, resources, setMode, useDataverse } from '../helpers/dataverse';
import type { SystemUserRow } from '../helpers/dataverse';

const { sandbox, control, graph, prod, syncedUser } = useDataverse();

describe('synchronisation from Entra ID', () => {
  test('a licensed user appears in every environment syncDelayMs after licensing, enabled, mode 0', async () => {
    const objectId = await createUser(graph, `sync@${DOMAIN}`);
    await license(graph, objectId);
    expect(await findSystemUser(prod, objectId)).toBeUndefined();
    await sleep(SYNC_MS + 50);
    const su = await findSystemUser(prod, objectId);
    expect(su).toMatchObject({
      azureactivedirectoryobjectid: objectId,
      domainname: `sync@${DOMAIN}`,
      accessmode: 0,
      isdisabled: false,
    });
    expect(await findSystemUser(dataverseClient(sandbox, TEST), objectId)).toBeDefined();
  });

  test('an unlicensed user, or one with a license without Dataverse, never appears', async () => {
    const none = await createUser(graph, `none@${DOMAIN}`);
    const office = await createUser(graph, `office@${DOMAIN}`);
    await license(graph, office, '6fd2c87f-b296-42f0-b197-1e91e994b900');
    await sleep(SYNC_MS + 50);
    expect(await findSystemUser(prod, none)).toBeUndefined();
    expect(await findSystemUser(prod, office)).toBeUndefined();
  });

  test('an unlicensed user that is not non-interactive is disabled on the next sync; a mode-4 user stays enabled', async () => {
    const a = await syncedUser(`plain@${DOMAIN}`);
    const b = await syncedUser(`niu@${DOMAIN}`);
    await setMode(prod, b.su.systemuserid, 4);
    await unlicense(graph, a.objectId);
    await unlicense(graph, b.objectId);
    expect((await findSystemUser(prod, a.objectId))!.isdisabled).toBe(false); // not yet synced
    await sleep(SYNC_MS + 50);
    expect((await findSystemUser(prod, a.objectId))!.isdisabled).toBe(true);
    expect(await findSystemUser(prod, b.objectId)).toMatchObject({ isdisabled: false, accessmode: 4 });
  });

  test('disabling the Entra account disables the systemuser on the next sync, even in mode 4', async () => {
    const { objectId, su } = await syncedUser(`off@${DOMAIN}`);
    await setMode(prod, su.systemuserid, 4);
    await graph.api(`/users/${objectId}`).patch({ accountEnabled: false });
    await sleep(SYNC_MS + 50);
    expect(await findSystemUser(prod, objectId)).toMatchObject({ isdisabled: true, accessmode: 4 });
    await graph.api(`/users/${objectId}`).patch({ accountEnabled: true });
    await sleep(SYNC_MS + 50);
    expect((await findSystemUser(prod, objectId))!.isdisabled).toBe(false);
  });

  test('deleting the Entra user disables its systemuser and frees its non-interactive slot', async () => {
    const { objectId, su } = await syncedUser(`gone@${DOMAIN}`);
    await setMode(prod, su.systemuserid, 4);
    expect((await resources(prod)).CurrentNumberOfNonInteractiveUsers).toBe(1);
    await graph.api(`/users/${objectId}`).delete();
    await sleep(SYNC_MS + 50);
    expect((await findSystemUser(prod, objectId))!.isdisabled).toBe(true);
    expect((await resources(prod)).CurrentNumberOfNonInteractiveUsers).toBe(0);
  });
});

describe('systemusers queries', () => {
  test('$select, $filter on systemuserid/accessmode/isdisabled, and the @odata shapes', async () => {
    const { su } = await syncedUser(`q@${DOMAIN}`);
    const res = await prod.retrieveMultiple({
      collection: 'systemusers',
      select: ['systemuserid', 'accessmode'],
      filter: `systemuserid eq ${su.systemuserid} and accessmode eq 0 and isdisabled eq false`,
    });
    expect(res.oDataContext).toBe(
      `${dataverseUrl(sandbox, PROD)}/api/data/v9.2/$metadata#systemusers(systemuserid,accessmode)`,
    );
    expect(res.value).toEqual([
      { '@odata.etag': expect.stringMatching(/^W\/"\d+"$/), systemuserid: su.systemuserid, accessmode: 0 },
    ]);
    const one = await prod.retrieve<Record<string, unknown>>({
      collection: 'systemusers',
      key: su.systemuserid,
      select: ['domainname'],
    });
    expect(one).toMatchObject({ systemuserid: su.systemuserid, domainname: `q@${DOMAIN}` });
  });

  test('a quoted GUID, an unknown column and a malformed filter are 400 0x80060888', async () => {
    const { objectId } = await syncedUser(`bad@${DOMAIN}`);
    const quoted = await dvError(
      prod.retrieveMultiple({ collection: 'systemusers', filter: `azureactivedirectoryobjectid eq '${objectId}'` }),
    );
    expect(quoted).toMatchObject({ status: 400, code: '0x80060888' });
    expect(quoted.message).toMatch(/incompatible types.*'Edm.Guid' and 'Edm.String'/);
    const column = await dvError(prod.retrieveMultiple({ collection: 'systemusers', filter: `shoesize eq 9` }));
    expect(column.message).toBe(
      "Could not find a property named 'shoesize' on type 'Microsoft.Dynamics.CRM.systemuser'.",
    );
    const syntax = await dvError(prod.retrieveMultiple({ collection: 'systemusers', filter: `domainname eq 'x' and` }));
    expect(syntax).toMatchObject({ status: 400, code: '0x80060888' });
    expect(syntax.message).toMatch(/^Syntax error at position \d+/);
    const select = await dvError(prod.retrieveMultiple({ collection: 'systemusers', select: ['shoesize'] }));
    expect(select.code).toBe('0x80060888');
  });

  test('$orderby sorts; an unknown column in it is 400', async () => {
    for (const n of ['o1', 'o2']) await createUser(graph, `${n}@${DOMAIN}`).then((id) => license(graph, id));
    await sleep(SYNC_MS + 50);
    const res = await prod.retrieveMultiple<{ domainname: string }>({
      collection: 'systemusers',
      select: ['domainname'],
      filter: 'applicationid eq null',
      orderBy: ['domainname desc'],
    });
    expect(res.value!.map((u) => u.domainname)).toEqual([`o2@${DOMAIN}`, `o1@${DOMAIN}`]);
    const err = await dvError(prod.retrieveMultiple({ collection: 'systemusers', orderBy: ['shoesize'] }));
    expect(err).toMatchObject({ status: 400, code: '0x80060888' });
  });

  test('PATCH with a stale If-Match is 412 (dynamics-web-api then answers false)', async () => {
    const { su } = await syncedUser(`etag@${DOMAIN}`);
    const stale = await prod.update({
      collection: 'systemusers',
      key: su.systemuserid,
      data: { accessmode: 4 },
      ifmatch: 'W/"0"',
    });
    expect(stale).toBe(false);
    expect((await prod.retrieve<SystemUserRow>({ collection: 'systemusers', key: su.systemuserid })).accessmode).toBe(
      0,
    );
  });

  test('PATCH with return=representation answers the updated row, with its $select', async () => {
    const { su } = await syncedUser(`repr@${DOMAIN}`);
    const row = await prod.update<Record<string, unknown>>({
      collection: 'systemusers',
      key: su.systemuserid,
      data: { accessmode: 4 },
      returnRepresentation: true,
      select: ['systemuserid', 'accessmode'],
    });
    expect(row).toMatchObject({ systemuserid: su.systemuserid, accessmode: 4 });
    expect(row).not.toHaveProperty('domainname');
  });

  test('an unknown record is 404 0x80040217', async () => {
    const id = '00000000-0000-0000-0000-0000000000aa';
    const err = await dvError(prod.retrieve({ collection: 'systemusers', key: id }));
    expect(err).toMatchObject({
      status: 404,
      code: '0x80040217',
      message: `systemuser With Id = ${id} Does Not Exist`,
    });
  });

  test('odata.maxpagesize pages with @odata.nextLink; retrieveAll follows it', async () => {
    for (const n of ['p1', 'p2', 'p3']) await createUser(graph, `${n}@${DOMAIN}`).then((id) => license(graph, id));
    await sleep(SYNC_MS + 50);
    const first = await prod.retrieveMultiple({ collection: 'systemusers', select: ['domainname'], maxPageSize: 2 });
    expect(first.value).toHaveLength(2);
    expect(first.oDataNextLink).toMatch(
      new RegExp(`^${dataverseUrl(sandbox, PROD)}/api/data/v9.2/systemusers\\?.*\\$skiptoken=`),
    );
    const all = await prod.retrieveAll<{ domainname: string }>({
      collection: 'systemusers',
      select: ['domainname'],
      maxPageSize: 2,
    });
    // three users plus the provisioner's application user
    expect(all.value!.map((u) => u.domainname).sort()).toEqual(
      [`p1@${DOMAIN}`, `p2@${DOMAIN}`, `p3@${DOMAIN}`, `provisioner-client@${DOMAIN}`].sort(),
    );
  });

  test('WhoAmI answers with the caller application user', async () => {
    const who = await prod.callFunction<{ UserId: string; BusinessUnitId: string; OrganizationId: string }>('WhoAmI');
    const state = await control.state();
    const app = state.environments[PROD]!.systemusers.find((s) => s.applicationid === 'provisioner-client')!;
    expect(who).toMatchObject({ UserId: app.systemuserid, OrganizationId: state.environments[PROD]!.organizationId });
  });
});

describe('authentication', () => {
  const withToken = (token: string, env = PROD) => dataverseClient(sandbox, env, async () => token);

  test('no token: 401 with a Bearer challenge naming the resource', async () => {
    const res = await fetch(`${dataverseUrl(sandbox, PROD)}/api/data/v9.2/systemusers`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer authorization_uri=${sandbox.url}/${sandbox.tenantId}/oauth2/authorize, resource_id=${dataverseUrl(sandbox, PROD)}/`,
    );
  });

  test('a Graph token, or a token for another environment, is 401', async () => {
    const graphToken = (await credential(sandbox).getToken('https://graph.microsoft.com/.default')).token;
    expect((await dvError(withToken(graphToken).retrieveMultiple({ collection: 'systemusers' }))).status).toBe(401);
    const testToken = (await credential(sandbox).getToken(`${dataverseUrl(sandbox, TEST)}/.default`)).token;
    expect((await dvError(withToken(testToken).retrieveMultiple({ collection: 'systemusers' }))).status).toBe(401);
    expect((await withToken(testToken, TEST).retrieveMultiple({ collection: 'systemusers' })).value!.length).toBe(1);
  });

  test('an expired token is 401', async () => {
    await control.config({ tokenLifetimeSeconds: 1 });
    const token = (await credential(sandbox).getToken(`${dataverseUrl(sandbox, PROD)}/.default`)).token;
    await sleep(2_100);
    expect((await dvError(withToken(token).retrieveMultiple({ collection: 'systemusers' }))).status).toBe(401);
  });

  test('a client without an application user in the environment is 403 0x80072560', async () => {
    const token = (await credential(sandbox, 'reader-client').getToken(`${dataverseUrl(sandbox, PROD)}/.default`))
      .token;
    const err = await dvError(withToken(token).retrieveMultiple({ collection: 'systemusers' }));
    expect(err).toMatchObject({ status: 403, code: '0x80072560' });
  });
});
