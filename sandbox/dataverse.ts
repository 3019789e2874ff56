// The Dataverse Web API (v9.x) of each emulated environment, at /dataverse/{env}/api/data/v9.2/:
// systemusers, roles, businessunits (with $filter/$select/$expand/$top and odata.maxpagesize
// paging), PATCH of accessmode and business unit, role association by $ref, the
// RetrieveOrganizationResources() and WhoAmI() functions, and a user's privileges by name
// (dataverse-privileges.ts). Errors use Dataverse's
// {"error":{"code":"0x…","message"}} shape; the access-mode limit fails with the platform's message.
// This file authenticates the caller (its application user), routes each call and answers the
// two functions; the entity sets' reads are in dataverse-sets.ts, the writes on systemusers in
// dataverse-systemusers.ts, the helpers they share in dataverse-shared.ts.
import { SETS, list, roleRow, single } from './dataverse-sets';
import {
  CODE_QUERY,
  type DataverseDeps,
  apiBase,
  envUrl,
  methodNotAllowed,
  notFound,
  parseKey,
} from './dataverse-shared';
import { isPrivilegeFunction, retrieveUserPrivilegeByName } from './dataverse-privileges';
import { associateRole, disassociateRole, patchSystemUser } from './dataverse-systemusers';
import type { Ctx, Reply } from './http';
import { HttpError, bearerToken, dataverseError, json } from './http';
import { TENANT_ID } from './seed';
import type { Environment, Role, SystemUser } from './types';

const CODE_NOT_MEMBER = '0x80072560';

async function authenticate(ctx: Ctx, env: Environment, deps: DataverseDeps): Promise<SystemUser> {
  const check = await deps.tokens.verify(bearerToken(ctx), (aud) => {
    try {
      const url = new URL(aud);
      return Number(url.port) === deps.port && url.pathname.replace(/\/+$/, '') === `/dataverse/${env.name}`;
    } catch {
      return false;
    }
  });
  if (!check.ok) {
    // Dataverse answers 401 with an empty body and a challenge naming the authority and resource.
    throw new HttpError({
      status: 401,
      headers: {
        'www-authenticate': `Bearer authorization_uri=${ctx.baseUrl}/${TENANT_ID}/oauth2/authorize, resource_id=${envUrl(ctx, env)}/`,
      },
      body: '',
    });
  }
  ctx.auth = check.claims;
  const caller = env.systemUsers.find((s) => s.applicationid === check.claims.appid && !s.isdisabled);
  if (!caller) {
    throw dataverseError(
      403,
      CODE_NOT_MEMBER,
      `The user is not a member of the organization. Application '${check.claims.appid}' has no application user in ${env.name}.`,
    );
  }
  return caller;
}

function organizationResources(ctx: Ctx, env: Environment, deps: DataverseDeps): Reply {
  const active = env.systemUsers.filter((s) => !s.isdisabled && s.applicationid === null).length;
  return json(
    200,
    {
      '@odata.context': `${apiBase(ctx, env)}/$metadata#Microsoft.Dynamics.CRM.RetrieveOrganizationResourcesResponse`,
      OrganizationResources: {
        CurrentNumberOfActiveUsers: active,
        CurrentNumberOfCustomEntities: 0,
        CurrentNumberOfNonInteractiveUsers: deps.store.nonInteractiveCount(env),
        CurrentNumberOfPublishedWorkflows: 0,
        CurrentStorage: 1024,
        MaxNumberOfActiveUsers: 100000,
        MaxNumberOfCustomEntities: 300,
        MaxNumberOfNonInteractiveUsers: env.nonInteractiveLimit,
        MaxNumberOfPublishedWorkflows: 200,
        MaxStorage: 10240,
      },
    },
    { 'odata-version': '4.0' },
  );
}

export async function handleDataverse(ctx: Ctx, deps: DataverseDeps): Promise<Reply> {
  // /dataverse/{env}/api/data/v9.x/...
  const parts = ctx.path.split('/').filter(Boolean);
  const envName = parts[1] ?? '';
  const env = deps.store.environment(envName);
  if (!env) {
    throw dataverseError(404, CODE_QUERY, `The environment '${envName}' does not exist in this sandbox.`);
  }
  if (parts[2] !== 'api' || parts[3] !== 'data' || !/^v9\.\d$/.test(parts[4] ?? '')) {
    throw dataverseError(404, CODE_QUERY, `Resource not found for the segment '${parts.slice(2).join('/')}'.`);
  }
  const caller = await authenticate(ctx, env, deps);
  const segments = parts.slice(5);
  const first = segments[0] ?? '';
  const m = /^(\w+)(?:\(([^)]*)\))?$/.exec(first);
  if (!m) throw dataverseError(400, CODE_QUERY, 'Bad Request - Error in query syntax.');
  const [, name, keyText] = m as unknown as [string, string, string | undefined];

  if (name === 'RetrieveOrganizationResources' && keyText === '' && segments.length === 1) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx);
    return organizationResources(ctx, env, deps);
  }
  if (name === 'WhoAmI' && keyText === '' && segments.length === 1) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx);
    return json(200, {
      '@odata.context': `${apiBase(ctx, env)}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: caller._businessunitid_value,
      UserId: caller.systemuserid,
      OrganizationId: env.organizationId,
    });
  }
  const set = SETS[name];
  if (!set) throw dataverseError(404, CODE_QUERY, `Resource not found for the segment '${first}'.`);

  if (keyText === undefined) {
    if (segments.length !== 1)
      throw dataverseError(404, CODE_QUERY, `Resource not found for the segment '${segments[1]}'.`);
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx);
    return list(ctx, env, set, set.rows(env), name);
  }
  const key = parseKey(keyText);
  const row = set.rows(env).find((r) => r[set.key] === key);
  if (!row) throw notFound(set.logicalName, key);

  if (segments.length === 1) {
    if (ctx.method === 'GET') return single(ctx, env, set, row, name);
    if (ctx.method === 'PATCH' && name === 'systemusers') {
      return patchSystemUser(
        ctx,
        env,
        env.systemUsers.find((s) => s.systemuserid === key)!,
        deps,
      );
    }
    throw methodNotAllowed(ctx);
  }
  if (name === 'systemusers' && segments.length === 2 && isPrivilegeFunction(segments[1])) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx);
    return retrieveUserPrivilegeByName(
      ctx,
      env,
      env.systemUsers.find((s) => s.systemuserid === key)!,
      segments[1]!,
    );
  }
  // systemusers(id)/systemuserroles_association[(roleid)][/$ref]
  const nav = /^systemuserroles_association(?:\(([^)]*)\))?$/.exec(segments[1] ?? '');
  if (name !== 'systemusers' || !nav) {
    throw dataverseError(404, CODE_QUERY, `Resource not found for the segment '${segments[1]}'.`);
  }
  const su = env.systemUsers.find((s) => s.systemuserid === key)!;
  const isRef = segments[2] === '$ref';
  if (segments.length > (isRef ? 3 : 2))
    throw dataverseError(404, CODE_QUERY, `Resource not found for the segment '${segments[3] ?? segments[2]}'.`);
  if (nav[1] !== undefined) {
    const roleId = parseKey(nav[1]);
    if (ctx.method === 'DELETE' && isRef) return disassociateRole(ctx, su, roleId, deps);
    throw methodNotAllowed(ctx);
  }
  if (isRef && ctx.method === 'POST') return associateRole(ctx, env, su, deps);
  if (isRef && ctx.method === 'DELETE') {
    const id = ctx.query.get('$id') ?? '';
    const r = /roles\(\{?([0-9a-fA-F-]{36})\}?\)$/.exec(id);
    if (!r) throw dataverseError(400, CODE_QUERY, "The '$id' query option is required to remove a reference.");
    return disassociateRole(ctx, su, r[1]!.toLowerCase(), deps);
  }
  if (!isRef && ctx.method === 'GET') {
    const roles = su.roles.map((id) => env.roles.find((r) => r.roleid === id)).filter((r): r is Role => !!r);
    return list(ctx, env, SETS.roles!, roles.map(roleRow), 'roles');
  }
  throw methodNotAllowed(ctx);
}
