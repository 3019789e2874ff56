// The Dataverse Web API (v9.x) of each emulated environment, at /dataverse/{env}/api/data/v9.2/:
// systemusers, roles, businessunits (with $filter/$select/$expand/$top and odata.maxpagesize
// paging), PATCH of accessmode and business unit, role association by $ref, and the
// RetrieveOrganizationResources() and WhoAmI() functions. Errors use Dataverse's
// {"error":{"code":"0x…","message"}} shape; the access-mode limit fails with the platform's message.
import type { Ctx, Reply } from './http';
import {
  GUID_RE,
  HttpError,
  bearerToken,
  dataverseError,
  empty,
  headerValue,
  isObject,
  json,
  odataQuery,
} from './http';
import { type EntitySchema, ODataError, compileOrderBy, parseSelect, project } from './odata';
import { compileFilter } from './odata-filter';
import { TENANT_ID } from './seed';
import { ACCESS_MODE, type Store, touch } from './store';
import type { TokenService } from './tokens';
import type { BusinessUnit, Environment, Role, SystemUser } from './types';

export interface DataverseDeps {
  store: Store;
  tokens: TokenService;
  port: number;
}

const CODE_QUERY = '0x80060888';
const CODE_NOT_FOUND = '0x80040217';
/** Dataverse does not document a dedicated code for the limit; callers should key on the message. */
const CODE_NON_INTERACTIVE_LIMIT = '0x80044183';
const CODE_USER_DISABLED = '0x80040225';
const CODE_DUPLICATE = '0x80040237';
const CODE_VALIDATION = '0x80044331';
const CODE_NOT_MEMBER = '0x80072560';

const ACCESS_MODE_LABELS = [
  'Read-Write',
  'Administrative',
  'Read',
  'Support User',
  'Non-interactive',
  'Delegated Admin',
];

const SYSTEMUSER_SCHEMA: EntitySchema = {
  systemuserid: 'guid',
  azureactivedirectoryobjectid: 'guid',
  applicationid: 'guid',
  domainname: 'string',
  fullname: 'string',
  internalemailaddress: 'string',
  accessmode: 'int',
  isdisabled: 'bool',
  islicensed: 'bool',
  _businessunitid_value: 'guid',
  createdon: 'datetime',
  modifiedon: 'datetime',
  versionnumber: 'int',
};
const ROLE_SCHEMA: EntitySchema = {
  roleid: 'guid',
  name: 'string',
  _businessunitid_value: 'guid',
  roletemplateid: 'guid',
  ismanaged: 'bool',
};
const BUSINESSUNIT_SCHEMA: EntitySchema = {
  businessunitid: 'guid',
  name: 'string',
  _parentbusinessunitid_value: 'guid',
  // The navigation property, usable as `parentbusinessunitid eq null` for the root.
  parentbusinessunitid: 'guid',
  isdisabled: 'bool',
};

type Row = Record<string, unknown>;

interface EntitySet {
  logicalName: string;
  key: string;
  schema: EntitySchema;
  rows: (env: Environment) => Row[];
}

function systemUserRow(s: SystemUser): Row {
  return {
    '@odata.etag': `W/"${s.versionnumber}"`,
    systemuserid: s.systemuserid,
    azureactivedirectoryobjectid: s.azureactivedirectoryobjectid,
    applicationid: s.applicationid,
    domainname: s.domainname,
    fullname: s.fullname,
    internalemailaddress: s.internalemailaddress,
    accessmode: s.accessmode,
    isdisabled: s.isdisabled,
    islicensed: s.islicensed,
    _businessunitid_value: s._businessunitid_value,
    createdon: s.createdon,
    modifiedon: s.modifiedon,
    versionnumber: s.versionnumber,
  };
}

function roleRow(r: Role): Row {
  return { '@odata.etag': 'W/"1"', ...r };
}

function businessUnitRow(b: BusinessUnit): Row {
  return { '@odata.etag': 'W/"1"', ...b, isdisabled: false };
}

const SETS: Record<string, EntitySet> = {
  systemusers: {
    logicalName: 'systemuser',
    key: 'systemuserid',
    schema: SYSTEMUSER_SCHEMA,
    rows: (env) => env.systemUsers.map(systemUserRow),
  },
  roles: { logicalName: 'role', key: 'roleid', schema: ROLE_SCHEMA, rows: (env) => env.roles.map(roleRow) },
  businessunits: {
    logicalName: 'businessunit',
    key: 'businessunitid',
    schema: BUSINESSUNIT_SCHEMA,
    rows: (env) => env.businessUnits.map(businessUnitRow),
  },
};

function typeName(set: EntitySet): string {
  return `Microsoft.Dynamics.CRM.${set.logicalName}`;
}

function queryError(err: unknown): never {
  if (err instanceof ODataError) throw dataverseError(400, CODE_QUERY, err.message);
  throw err;
}

function notFound(logicalName: string, id: string): HttpError {
  return dataverseError(404, CODE_NOT_FOUND, `${logicalName} With Id = ${id} Does Not Exist`);
}

function envUrl(ctx: Ctx, env: Environment): string {
  return `${ctx.baseUrl}/dataverse/${env.name}`;
}

function apiBase(ctx: Ctx, env: Environment): string {
  return `${envUrl(ctx, env)}/api/data/v9.2`;
}

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

function prefers(ctx: Ctx): { maxPageSize: number | null; annotations: boolean; representation: boolean } {
  const prefer = headerValue(ctx, 'prefer') ?? '';
  const page = /odata\.maxpagesize=(\d+)/.exec(prefer);
  return {
    maxPageSize: page ? Math.max(1, Number(page[1])) : null,
    annotations: /odata\.include-annotations="?(\*|[^"]*FormattedValue)/.test(prefer),
    representation: /return=representation/.test(prefer),
  };
}

function annotate(row: Row, on: boolean): Row {
  if (!on) return row;
  const out = { ...row };
  if (typeof row.accessmode === 'number') {
    out['accessmode@OData.Community.Display.V1.FormattedValue'] =
      ACCESS_MODE_LABELS[row.accessmode] ?? String(row.accessmode);
  }
  if (typeof row.isdisabled === 'boolean') {
    out['isdisabled@OData.Community.Display.V1.FormattedValue'] = row.isdisabled ? 'Disabled' : 'Enabled';
  }
  return out;
}

interface Expand {
  select: string[] | null;
}

function parseExpand(ctx: Ctx, set: EntitySet): Expand | null {
  const text = ctx.query.get('$expand');
  if (text === null || text.trim() === '') return null;
  const m = /^\s*(\w+)\s*(?:\(\s*\$select=([^)]*)\))?\s*$/.exec(text);
  if (!m) throw dataverseError(400, CODE_QUERY, `Syntax error in $expand: '${text}'.`);
  if (set.logicalName !== 'systemuser' || m[1] !== 'systemuserroles_association') {
    throw dataverseError(400, CODE_QUERY, `Could not find a property named '${m[1]}' on type '${typeName(set)}'.`);
  }
  try {
    return { select: parseSelect(m[2] ?? null, { typeName: 'Microsoft.Dynamics.CRM.role', schema: ROLE_SCHEMA }) };
  } catch (err) {
    queryError(err);
  }
}

function withExpand(row: Row, env: Environment, expand: Expand | null): Row {
  if (!expand) return row;
  const su = env.systemUsers.find((s) => s.systemuserid === row.systemuserid);
  const roles = (su?.roles ?? [])
    .map((id) => env.roles.find((r) => r.roleid === id))
    .filter((r): r is Role => !!r)
    .map((r) => project(roleRow(r), expand.select, ['roleid']));
  return { ...row, systemuserroles_association: roles };
}

function list(ctx: Ctx, env: Environment, set: EntitySet, rows: Row[], contextSuffix: string): Reply {
  let select: string[] | null;
  let predicate: (row: Row) => boolean = () => true;
  let order: ((a: Row, b: Row) => number) | null;
  try {
    select = parseSelect(ctx.query.get('$select'), { typeName: typeName(set), schema: set.schema });
    const filter = ctx.query.get('$filter');
    if (filter !== null) predicate = compileFilter(filter, { typeName: typeName(set), schema: set.schema });
    order = compileOrderBy(ctx.query.get('$orderby'), { typeName: typeName(set), schema: set.schema });
  } catch (err) {
    queryError(err);
  }
  const expand = parseExpand(ctx, set);
  const pref = prefers(ctx);
  const filterRow = (r: Row) =>
    set.logicalName === 'businessunit' ? { ...r, parentbusinessunitid: r._parentbusinessunitid_value } : r;
  let matched = rows.filter((r) => predicate(filterRow(r)));
  if (order) matched = [...matched].sort(order);
  const topRaw = ctx.query.get('$top');
  if (topRaw !== null) {
    const top = Number(topRaw);
    if (!Number.isInteger(top) || top < 0)
      throw dataverseError(400, CODE_QUERY, `Invalid value '${topRaw}' for $top query option found.`);
    matched = matched.slice(0, top);
  }
  let offset = 0;
  const skip = ctx.query.get('$skiptoken');
  if (skip !== null) {
    const m = /^<cookie page="(\d+)" offset="(\d+)" \/>$/.exec(skip);
    if (!m) throw dataverseError(400, CODE_QUERY, 'The $skiptoken is invalid.');
    offset = Number(m[2]);
  }
  const pageSize = pref.maxPageSize ?? 5000;
  const page = matched.slice(offset, offset + pageSize);
  const headers: Record<string, string> = { 'odata-version': '4.0' };
  if (pref.maxPageSize !== null) headers['preference-applied'] = `odata.maxpagesize=${pref.maxPageSize}`;
  const out: Row = {
    '@odata.context': `${apiBase(ctx, env)}/$metadata#${contextSuffix}${select ? `(${select.join(',')})` : ''}`,
  };
  if (ctx.query.get('$count') === 'true') out['@odata.count'] = matched.length;
  out.value = page.map((r) => annotate(withExpand(project(r, select, [set.key]), env, expand), pref.annotations));
  if (offset + pageSize < matched.length) {
    const next = new URLSearchParams();
    for (const [k, v] of ctx.query) if (k !== '$skiptoken') next.set(k, v);
    next.set('$skiptoken', `<cookie page="${Math.floor(offset / pageSize) + 2}" offset="${offset + pageSize}" />`);
    out['@odata.nextLink'] = `${apiBase(ctx, env)}/${contextSuffix}?${odataQuery(next)}`;
  }
  return json(200, out, headers);
}

function single(ctx: Ctx, env: Environment, set: EntitySet, row: Row, setName: string): Reply {
  let select: string[] | null;
  try {
    select = parseSelect(ctx.query.get('$select'), { typeName: typeName(set), schema: set.schema });
  } catch (err) {
    queryError(err);
  }
  const expand = parseExpand(ctx, set);
  const pref = prefers(ctx);
  return json(
    200,
    {
      '@odata.context': `${apiBase(ctx, env)}/$metadata#${setName}${select ? `(${select.join(',')})` : ''}/$entity`,
      ...annotate(withExpand(project(row, select, [set.key]), env, expand), pref.annotations),
    },
    { 'odata-version': '4.0' },
  );
}

function parseKey(raw: string | undefined): string {
  if (raw === undefined || !GUID_RE.test(raw.replace(/[{}]/g, ''))) {
    throw dataverseError(400, CODE_QUERY, 'Bad Request - Error in query syntax.');
  }
  return raw.replace(/[{}]/g, '').toLowerCase();
}

function bodyObject(ctx: Ctx): Record<string, unknown> {
  if (ctx.bodyError !== null || !isObject(ctx.body)) {
    throw dataverseError(
      400,
      CODE_QUERY,
      "Error identified in Payload provided by the user for Entity :'', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293",
    );
  }
  return ctx.body;
}

const PATCHABLE = new Set(['accessmode', 'businessunitid@odata.bind', 'internalemailaddress']);
/** Known columns a PATCH may name without effect (read-only or synchronised from Entra ID). */
const IGNORED_ON_PATCH = new Set([
  '@odata.etag',
  'systemuserid',
  'domainname',
  'fullname',
  'azureactivedirectoryobjectid',
]);

function patchSystemUser(ctx: Ctx, env: Environment, su: SystemUser, deps: DataverseDeps): Reply {
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

function associateRole(ctx: Ctx, env: Environment, su: SystemUser, deps: DataverseDeps): Reply {
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

function disassociateRole(ctx: Ctx, su: SystemUser, roleId: string, deps: DataverseDeps): Reply {
  su.roles = su.roles.filter((r) => r !== roleId);
  touch(su, ctx.now);
  deps.store.changed();
  return empty(204);
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

function methodNotAllowed(ctx: Ctx): HttpError {
  return dataverseError(405, CODE_QUERY, `The HTTP method '${ctx.method}' is not supported for this resource.`);
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
