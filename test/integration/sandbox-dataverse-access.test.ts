// Contract tests of the sandbox's Dataverse, driven through dynamics-web-api with tokens from
// ClientSecretCredential: the access mode and the non-interactive limit
// (RetrieveOrganizationResources), the revert window, security roles and business units, a
// user's privileges by name.
import { DOMAIN, dataverseClient, dataverseUrl, license, sleep, unlicense } from '../helpers/sandbox';
import { PROD, SYNC_MS, TEST, dvError, findSystemUser, resources, setMode, useDataverse } from '../helpers/dataverse';
import type { SystemUserRow } from '../helpers/dataverse';

const LIMIT_MESSAGE = 'Your organization has reached its maximum number of non-interactive users';

const { sandbox, control, graph, prod, syncedUser } = useDataverse();

describe('access mode and the non-interactive limit', () => {
  test('RetrieveOrganizationResources reports the limit and the count, without the application user', async () => {
    const res = await prod.callFunction<Record<string, unknown>>('RetrieveOrganizationResources');
    expect(res.oDataContext).toBe(
      `${dataverseUrl(sandbox, PROD)}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.RetrieveOrganizationResourcesResponse`,
    );
    expect(res.OrganizationResources).toMatchObject({
      MaxNumberOfNonInteractiveUsers: 7,
      CurrentNumberOfNonInteractiveUsers: 0,
    });
    const { su } = await syncedUser(`count@${DOMAIN}`);
    await setMode(prod, su.systemuserid, 4);
    await setMode(prod, su.systemuserid, 4); // the same mode again is accepted and counts once
    expect((await resources(prod)).CurrentNumberOfNonInteractiveUsers).toBe(1);
    expect((await resources(dataverseClient(sandbox, TEST))).CurrentNumberOfNonInteractiveUsers).toBe(0);
  });

  test('setting mode 4 past the limit fails with the platform message; other environments are separate', async () => {
    await control.config({ environments: { [PROD]: { nonInteractiveLimit: 1 } } });
    const a = await syncedUser(`l1@${DOMAIN}`);
    const b = await syncedUser(`l2@${DOMAIN}`);
    await setMode(prod, a.su.systemuserid, 4);
    const err = await dvError(setMode(prod, b.su.systemuserid, 4));
    expect(err.status).toBe(400);
    expect(err.code).toMatch(/^0x[0-9a-f]{8}$/);
    expect(err.message).toContain(LIMIT_MESSAGE);
    expect((await findSystemUser(prod, b.objectId))!.accessmode).toBe(0);
    const test = dataverseClient(sandbox, TEST);
    await setMode(test, (await findSystemUser(test, b.objectId))!.systemuserid, 4);
    expect((await resources(prod)).MaxNumberOfNonInteractiveUsers).toBe(1);
  });

  test('an invalid access mode is rejected; the application user cannot change mode', async () => {
    const { su } = await syncedUser(`mode@${DOMAIN}`);
    const invalid = await dvError(setMode(prod, su.systemuserid, 9));
    expect(invalid).toMatchObject({ status: 400, code: '0x80044331' });
    expect(invalid.message).toMatch(/outside the valid range/);
    const app = (await control.state()).environments[PROD]!.systemusers.find((s) => s.applicationid !== null)!;
    const appErr = await dvError(setMode(prod, app.systemuserid, 0));
    expect(appErr.status).toBe(400);
    expect(appErr.message).toBe('The access mode of an application user cannot be changed.');
    const unknownColumn = await dvError(
      prod.update({ collection: 'systemusers', key: su.systemuserid, data: { shoesize: 9 } }),
    );
    expect(unknownColumn.message).toMatch(/The property 'shoesize' does not exist/);
  });

  test('revertWindowMs: removing the license soon after mode 4 resets the mode to Administrative, once', async () => {
    await control.config({ revertWindowMs: 60_000 });
    const { objectId, su } = await syncedUser(`revert@${DOMAIN}`);
    await setMode(prod, su.systemuserid, 4);
    await unlicense(graph, objectId);
    expect((await findSystemUser(prod, objectId))!.accessmode).toBe(1);
    await setMode(prod, su.systemuserid, 4);
    await license(graph, objectId);
    await unlicense(graph, objectId);
    expect((await findSystemUser(prod, objectId))!.accessmode).toBe(4);
  });

  test('without a revert window the mode survives the license removal', async () => {
    const { objectId, su } = await syncedUser(`keep@${DOMAIN}`);
    await setMode(prod, su.systemuserid, 4);
    await unlicense(graph, objectId);
    await sleep(SYNC_MS + 50);
    expect(await findSystemUser(prod, objectId)).toMatchObject({ accessmode: 4, isdisabled: false });
  });
});

describe('security roles and business units', () => {
  async function role(name: string, businessUnitId: string) {
    const res = await prod.retrieveMultiple<{ roleid: string; name: string }>({
      collection: 'roles',
      select: ['roleid', 'name'],
      filter: `name eq '${name.replace(/'/g, "''")}' and _businessunitid_value eq ${businessUnitId}`,
    });
    expect(res.value).toHaveLength(1);
    return res.value![0]!;
  }
  async function businessUnit(filter: string) {
    const res = await prod.retrieveMultiple<{ businessunitid: string; name: string }>({
      collection: 'businessunits',
      filter,
    });
    expect(res.value).toHaveLength(1);
    return res.value![0]!;
  }
  const associate = (userId: string, roleId: string) =>
    prod.associate({
      collection: 'systemusers',
      primaryKey: userId,
      relationshipName: 'systemuserroles_association',
      relatedCollection: 'roles',
      relatedKey: roleId,
    });
  async function roleNames(userId: string) {
    const res = await prod.retrieve<SystemUserRow>({
      collection: 'systemusers',
      key: userId,
      select: ['systemuserid'],
      expand: [{ property: 'systemuserroles_association', select: ['name'] }],
    });
    return res.systemuserroles_association!.map((r) => r.name).sort();
  }

  test('associate by $ref, read back with $expand, duplicate and cross-business-unit errors, disassociate', async () => {
    const root = await businessUnit('parentbusinessunitid eq null');
    expect(root.name).toBe(PROD);
    const child = await businessUnit(`name eq 'Integrations'`);
    const { su } = await syncedUser(`roles@${DOMAIN}`);
    expect(su._businessunitid_value).toBe(root.businessunitid);
    const basic = await role('Basic User', root.businessunitid);
    const integration = await role('Integration User', root.businessunitid);
    await associate(su.systemuserid, basic.roleid);
    await associate(su.systemuserid, integration.roleid);
    expect(await roleNames(su.systemuserid)).toEqual(['Basic User', 'Integration User']);
    const dup = await dvError(associate(su.systemuserid, basic.roleid));
    expect(dup).toMatchObject({ status: 400, code: '0x80040237' });
    const other = await role('Basic User', child.businessunitid);
    const cross = await dvError(associate(su.systemuserid, other.roleid));
    expect(cross.status).toBe(400);
    await prod.disassociate({
      collection: 'systemusers',
      primaryKey: su.systemuserid,
      relationshipName: 'systemuserroles_association',
      relatedKey: basic.roleid,
    });
    expect(await roleNames(su.systemuserid)).toEqual(['Integration User']);
  });

  test('moving a user to another business unit (businessunitid@odata.bind) removes its roles', async () => {
    const root = await businessUnit('_parentbusinessunitid_value eq null');
    const child = await businessUnit(`name eq 'Integrations'`);
    const { su } = await syncedUser(`move@${DOMAIN}`);
    await associate(su.systemuserid, (await role('Basic User', root.businessunitid)).roleid);
    await prod.update({
      collection: 'systemusers',
      key: su.systemuserid,
      data: { 'businessunitid@odata.bind': `/businessunits(${child.businessunitid})` },
    });
    const moved = await prod.retrieve<SystemUserRow>({ collection: 'systemusers', key: su.systemuserid });
    expect(moved._businessunitid_value).toBe(child.businessunitid);
    expect(await roleNames(su.systemuserid)).toEqual([]);
    await associate(su.systemuserid, (await role('Integration User', child.businessunitid)).roleid);
    expect(await roleNames(su.systemuserid)).toEqual(['Integration User']);
  });

  test("RetrieveUserPrivilegeByPrivilegeName: System Administrator's privileges at Global depth, none through other roles", async () => {
    const who = await prod.callFunction<{ UserId: string }>('WhoAmI');
    const privileges = (userId: string) =>
      prod.callFunction<{ RolePrivileges: { Depth: string; PrivilegeName: string; BusinessUnitId: string }[] }>({
        name: 'Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName',
        collection: 'systemusers',
        key: userId,
        parameters: { PrivilegeName: 'prvWriteUser' },
      });
    // The seeded application user holds System Administrator in the root business unit.
    const root = await businessUnit('parentbusinessunitid eq null');
    expect((await privileges(who.UserId)).RolePrivileges).toEqual([
      expect.objectContaining({ Depth: 'Global', PrivilegeName: 'prvWriteUser', BusinessUnitId: root.businessunitid }),
    ]);
    const { su } = await syncedUser(`privileges@${DOMAIN}`);
    await associate(su.systemuserid, (await role('Basic User', root.businessunitid)).roleid);
    expect((await privileges(su.systemuserid)).RolePrivileges).toEqual([]);
    const admin = await role('System Administrator', root.businessunitid);
    await prod.disassociate({
      collection: 'systemusers',
      primaryKey: who.UserId,
      relationshipName: 'systemuserroles_association',
      relatedKey: admin.roleid,
    });
    expect((await privileges(who.UserId)).RolePrivileges).toEqual([]);
  });

  test('roles cannot be assigned to a disabled user', async () => {
    const root = await businessUnit('parentbusinessunitid eq null');
    const { objectId, su } = await syncedUser(`disabled@${DOMAIN}`);
    await unlicense(graph, objectId);
    await sleep(SYNC_MS + 50);
    const err = await dvError(associate(su.systemuserid, (await role('Basic User', root.businessunitid)).roleid));
    expect(err).toMatchObject({ status: 400, code: '0x80040225' });
    expect(err.message).toMatch(/disabled/);
  });
});
