// The bound function `systemusers(<id>)/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName='<name>')`:
// the privileges of that name a user holds through its security roles, as RolePrivilege entries
// (`Depth`, `PrivilegeId`, `BusinessUnitId`, `PrivilegeName`). The emulation knows one role's
// privileges: System Administrator, which in Dataverse holds every privilege at Global
// (organization) depth and cannot be changed. The other seeded roles answer with no privilege:
// their real privilege sets are not modelled.
import { CODE_QUERY, apiBase } from './dataverse-shared';
import type { Ctx, Reply } from './http';
import { dataverseError, json } from './http';
import { stableGuid } from './seed';
import type { Environment, SystemUser } from './types';

// The parameter as a literal, `(PrivilegeName='prvWriteUser')`, or an alias, `(PrivilegeName=@p1)?@p1='prvWriteUser'`.
const FUNCTION =
  /^Microsoft\.Dynamics\.CRM\.RetrieveUserPrivilegeByPrivilegeName\(PrivilegeName=(?:'([^']*)'|(@\w+))\)$/;
const EVERY_PRIVILEGE = 'System Administrator';

/** Whether `segment` (after `systemusers(<id>)/`) calls the function. */
export function isPrivilegeFunction(segment: string | undefined): boolean {
  return /^Microsoft\.Dynamics\.CRM\.RetrieveUserPrivilegeByPrivilegeName\(/.test(segment ?? '');
}

export function retrieveUserPrivilegeByName(ctx: Ctx, env: Environment, su: SystemUser, segment: string): Reply {
  const m = FUNCTION.exec(segment);
  const name = m?.[2] ? /^'([^']*)'$/.exec(ctx.query.get(m[2]) ?? '')?.[1] : m?.[1];
  if (name === undefined || !/^prv\w+$/.test(name)) {
    throw dataverseError(400, CODE_QUERY, 'Bad Request - Error in query syntax.');
  }
  const roles = su.roles.map((id) => env.roles.find((r) => r.roleid === id)).filter((r) => r?.name === EVERY_PRIVILEGE);
  return json(200, {
    '@odata.context': `${apiBase(ctx, env)}/$metadata#Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeNameResponse`,
    RolePrivileges: roles.map((role) => ({
      Depth: 'Global',
      PrivilegeId: stableGuid('privilege', name),
      BusinessUnitId: role!._businessunitid_value,
      PrivilegeName: name,
    })),
  });
}
