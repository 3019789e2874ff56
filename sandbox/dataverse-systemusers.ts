// Writes on Dataverse systemusers: PATCH of accessmode, business unit (by @odata.bind; moving
// clears the user's roles) and internalemailaddress, with If-Match row versions and
// return=representation; and security-role association by $ref (POST, DELETE by key or by
// $id). The platform's rules are enforced with its messages: the non-interactive user limit
// per environment, an application user's fixed access mode, a role only from the user's own
// business unit, no role for a disabled user, no duplicate association.
import { SETS, single, systemUserRow } from './dataverse-sets';
import { CODE_QUERY, type DataverseDeps, apiBase, bodyObject, notFound, prefers } from './dataverse-shared';
import type { Ctx, Reply } from './http';
import { dataverseError, empty, headerValue } from './http';
import { ACCESS_MODE, touch } from './store';
import type { BusinessUnit, Environment, SystemUser } from './types';

/** Dataverse does not document a dedicated code for the limit; callers should key on the message. */
const CODE_NON_INTERACTIVE_LIMIT = '0x80044183';
const CODE_USER_DISABLED = '0x80040225';
const CODE_DUPLICATE = '0x80040237';
const CODE_VALIDATION = '0x80044331';

const PATCHABLE = new Set(['accessmode', 'businessunitid@odata.bind', 'internalemailaddress']);
/** Known columns a PATCH may name without effect (read-only or synchronised from Entra ID). */
const IGNORED_ON_PATCH = new Set([
  '@odata.etag',
  'systemuserid',
  'domainname',
  'fullname',
  'azureactivedirectoryobjectid',
]);

export function patchSystemUser(ctx: Ctx, env: Environment, su: SystemUser, deps: DataverseDeps): Reply {
  // Optimistic concurrency: If-Match with an older row version fails (dynamics-web-api sends `*`).
  const ifMatch = headerValue(ctx, 'if-match');
  if (ifMatch && ifMatch !== '*' && ifMatch !== `W/"${su.versionnumber}"`) {
    throw dataverseError(
      412,
      '0x80060882',
      "The version of the existing record doesn't match the RowVersion property provided.",
    );
  }
  const body = bodyObject(ctx);
  for (const key of Object.keys(body)) {
    if (!PATCHABLE.has(key) && !IGNORED_ON_PATCH.has(key)) {
      throw dataverseError(
        400,
        CODE_QUERY,
        `The property '${key}' does not exist on type 'Microsoft.Dynamics.CRM.systemuser'. Make sure to only use property names that are defined by the type or mark the type as open type.`,
      );
    }
  }
  let targetBu: BusinessUnit | undefined;
  if ('businessunitid@odata.bind' in body) {
    const ref = body['businessunitid@odata.bind'];
    const m = typeof ref === 'string' ? /businessunits\(\{?([0-9a-fA-F-]{36})\}?\)$/.exec(ref) : null;
    if (!m) throw dataverseError(400, CODE_QUERY, `Invalid value for 'businessunitid@odata.bind': '${String(ref)}'.`);
    targetBu = env.businessUnits.find((b) => b.businessunitid === m[1]!.toLowerCase());
    if (!targetBu) throw notFound('businessunit', m[1]!);
  }
  let mode: number | undefined;
  if ('accessmode' in body) {
    const v = body.accessmode;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 5) {
      throw dataverseError(
        400,
        CODE_VALIDATION,
        `A validation error occurred. The value ${JSON.stringify(v)} of 'accessmode' on record of type 'systemuser' is outside the valid range. Accepted Values: 0,1,2,3,4,5`,
      );
    }
    mode = v;
    if (su.applicationid !== null && v !== su.accessmode) {
      throw dataverseError(400, CODE_VALIDATION, 'The access mode of an application user cannot be changed.');
    }
    if (v === ACCESS_MODE.nonInteractive && su.accessmode !== ACCESS_MODE.nonInteractive && su.applicationid === null) {
      const used = deps.store.nonInteractiveCount(env);
      if (used >= env.nonInteractiveLimit) {
        throw dataverseError(
          400,
          CODE_NON_INTERACTIVE_LIMIT,
          `Your organization has reached its maximum number of non-interactive users (${env.nonInteractiveLimit}). Change the access mode of an existing non-interactive user, or contact Microsoft support to raise the limit.`,
        );
      }
    }
  }
  let changed = false;
  if (mode !== undefined && mode !== su.accessmode) {
    su.accessmode = mode;
    su.accessModeSetAt = mode === ACCESS_MODE.nonInteractive ? ctx.now : su.accessModeSetAt;
    changed = true;
  }
  if (targetBu && targetBu.businessunitid !== su._businessunitid_value) {
    // Moving a user to another business unit removes its security roles, as Dataverse does.
    su._businessunitid_value = targetBu.businessunitid;
    su.roles = [];
    changed = true;
  }
  if ('internalemailaddress' in body) {
    su.internalemailaddress = typeof body.internalemailaddress === 'string' ? body.internalemailaddress : null;
    changed = true;
  }
  if (changed) {
    touch(su, ctx.now);
    // A user made non-interactive no longer needs a license: the next sync keeps it enabled.
    const u = deps.store.data.users.find((x) => x.user.id === su.azureactivedirectoryobjectid);
    if (u) deps.store.syncUser(env, u, ctx.now);
    deps.store.changed();
  }
  const entityId = `${apiBase(ctx, env)}/systemusers(${su.systemuserid})`;
  if (prefers(ctx).representation) {
    // The row after the update, as a GET of it would answer ($select and all).
    const reply = single(ctx, env, SETS.systemusers!, systemUserRow(su), 'systemusers');
    return { ...reply, headers: { ...reply.headers, 'odata-entityid': entityId } };
  }
  return empty(204, { 'odata-entityid': entityId, 'odata-version': '4.0' });
}

export function associateRole(ctx: Ctx, env: Environment, su: SystemUser, deps: DataverseDeps): Reply {
  const body = bodyObject(ctx);
  const ref = body['@odata.id'];
  const m = typeof ref === 'string' ? /roles\(\{?([0-9a-fA-F-]{36})\}?\)$/.exec(ref) : null;
  if (!m) throw dataverseError(400, CODE_QUERY, `Invalid '@odata.id' in the request body: '${String(ref)}'.`);
  const role = env.roles.find((r) => r.roleid === m[1]!.toLowerCase());
  if (!role) throw notFound('role', m[1]!);
  if (su.isdisabled) {
    throw dataverseError(
      400,
      CODE_USER_DISABLED,
      'The specified user is either disabled or is not a member of any business unit.',
    );
  }
  if (role._businessunitid_value !== su._businessunitid_value) {
    throw dataverseError(
      400,
      CODE_QUERY,
      `The role ${role.roleid} belongs to a different business unit than the user ${su.systemuserid}. Assign the role of the user's business unit.`,
    );
  }
  if (su.roles.includes(role.roleid)) throw dataverseError(400, CODE_DUPLICATE, 'Cannot insert duplicate key.');
  su.roles.push(role.roleid);
  touch(su, ctx.now);
  deps.store.changed();
  return empty(204);
}

export function disassociateRole(ctx: Ctx, su: SystemUser, roleId: string, deps: DataverseDeps): Reply {
  su.roles = su.roles.filter((r) => r !== roleId);
  touch(su, ctx.now);
  deps.store.changed();
  return empty(204);
}
