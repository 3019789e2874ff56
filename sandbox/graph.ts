// Microsoft Graph v1.0, the part the provisioner uses: users (create, read, update, delete,
// list with $filter/$select/$top paging), assignLicense, subscribedSkus, group membership
// ($ref), organization and domains. Errors are Graph's (Request_BadRequest with ObjectConflict
// for a duplicate UPN, Request_ResourceNotFound, Authorization_RequestDenied, ...).
import { randomUUID } from 'node:crypto';
import type * as Graph from '@microsoft/microsoft-graph-types';
import type { Ctx, Reply } from './http';
import { GUID_RE, HttpError, bearerToken, empty, graphError, isObject, json, odataQuery } from './http';
import { type EntitySchema, ODataError, compileOrderBy, parseSelect, project } from './odata';
import { compileFilter } from './odata-filter';
import { GRAPH_AUDIENCE, TENANT_DISPLAY_NAME, TENANT_ID, VERIFIED_DOMAINS } from './seed';
import type { Store } from './store';
import type { TokenService } from './tokens';
import type { StoredUser } from './types';

export interface GraphDeps {
  store: Store;
  tokens: TokenService;
}

const USER_TYPE = 'microsoft.graph.user';

const USER_SCHEMA: EntitySchema = {
  id: 'string',
  accountEnabled: 'bool',
  displayName: 'string',
  givenName: 'string',
  surname: 'string',
  mailNickname: 'string',
  userPrincipalName: 'string',
  usageLocation: 'string',
  employeeType: 'string',
  employeeId: 'string',
  companyName: 'string',
  department: 'string',
  jobTitle: 'string',
  mail: 'string',
  mobilePhone: 'string',
  officeLocation: 'string',
  preferredLanguage: 'string',
  userType: 'string',
  createdDateTime: 'datetime',
  businessPhones: 'collection',
  assignedLicenses: 'collection',
  'assignedLicenses/skuId': 'guid',
};

/** Properties a client may write (POST/PATCH). */
const WRITABLE_STRING = [
  'displayName',
  'givenName',
  'surname',
  'mailNickname',
  'userPrincipalName',
  'usageLocation',
  'employeeType',
  'employeeId',
  'companyName',
  'department',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
] as const;
const WRITABLE = new Set<string>([...WRITABLE_STRING, 'accountEnabled', 'passwordProfile', 'businessPhones']);
const READ_ONLY = new Set(['id', 'assignedLicenses', 'createdDateTime', 'userType']);

/** What GET /users returns without $select (Graph v1.0's default set). */
const DEFAULT_USER_PROPERTIES = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];

const GROUP_SCHEMA: EntitySchema = { id: 'string', displayName: 'string', mailNickname: 'string' };

function queryError(ctx: Ctx, err: unknown, prefix = 'Invalid filter clause'): never {
  if (err instanceof ODataError) {
    throw graphError(
      ctx,
      400,
      err.kind === 'property' ? 'Request_UnsupportedQuery' : 'BadRequest',
      `${prefix}: ${err.message}`,
    );
  }
  throw err;
}

async function authenticate(ctx: Ctx, deps: GraphDeps): Promise<void> {
  const check = await deps.tokens.verify(bearerToken(ctx), (aud) => aud === GRAPH_AUDIENCE);
  if (!check.ok) {
    const message =
      check.reason === 'missing'
        ? 'Access token is empty.'
        : check.reason === 'expired'
          ? 'Lifetime validation failed, the token is expired.'
          : check.reason === 'audience'
            ? 'Access token validation failure. Invalid audience.'
            : check.reason === 'signature'
              ? 'Access token validation failure. Invalid signature.'
              : 'Access token validation failure.';
    throw graphError(
      ctx,
      401,
      'InvalidAuthenticationToken',
      message,
      {},
      {
        'www-authenticate': `Bearer realm="", authorization_uri="${ctx.baseUrl}/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
      },
    );
  }
  ctx.auth = check.claims;
}

function requireRole(ctx: Ctx, anyOf: string[]): void {
  const roles = ctx.auth?.roles ?? [];
  if (!anyOf.some((r) => roles.includes(r))) {
    throw graphError(ctx, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
}

const READ_USERS = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const WRITE_USERS = ['User.ReadWrite.All', 'Directory.ReadWrite.All'];
const ASSIGN_LICENSES = ['LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
const READ_ORG = ['Organization.Read.All', 'Directory.Read.All', 'LicenseAssignment.ReadWrite.All'];
const READ_GROUPS = ['GroupMember.Read.All', 'GroupMember.ReadWrite.All', 'Group.Read.All', 'Directory.Read.All'];
const WRITE_GROUPS = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];

/** The full user resource (never the password). */
function userView(u: StoredUser): Graph.User {
  const { passwordProfile: _p, ...rest } = u.user;
  return { businessPhones: [], userType: 'Member', ...rest, createdDateTime: new Date(u.createdAt).toISOString() };
}

function renderUser(u: StoredUser, select: string[] | null): Record<string, unknown> {
  const view = userView(u) as Record<string, unknown>;
  const names = select ?? DEFAULT_USER_PROPERTIES;
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = view[name] ?? (name === 'businessPhones' ? [] : null);
  return out;
}

function context(ctx: Ctx, set: string, select: string[] | null, entity: boolean): string {
  return `${ctx.baseUrl}/v1.0/$metadata#${set}${select ? `(${select.join(',')})` : ''}${entity ? '/$entity' : ''}`;
}

function notFound(ctx: Ctx, key: string): HttpError {
  return graphError(
    ctx,
    404,
    'Request_ResourceNotFound',
    `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

function visible(u: StoredUser, ctx: Ctx, deps: GraphDeps): boolean {
  // A newly created user can be briefly invisible to the next call (replication).
  return ctx.now >= u.createdAt + deps.store.data.settings.replicationDelayMs;
}

function getUser(ctx: Ctx, deps: GraphDeps, key: string): StoredUser {
  const u = deps.store.findUser(key);
  if (!u || !visible(u, ctx, deps)) throw notFound(ctx, key);
  return u;
}

function invalidValue(ctx: Ctx, property: string, resource = 'User'): HttpError {
  return graphError(
    ctx,
    400,
    'Request_BadRequest',
    `Invalid value specified for property '${property}' of resource '${resource}'.`,
    {
      details: [{ code: 'InvalidValue', target: property }],
    },
  );
}

/** Entra ID's default complexity rule: 8-256 characters, 3 of 4 character classes. */
function passwordIsComplex(password: string): boolean {
  if (password.length < 8 || password.length > 256) return false;
  const classes = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  return classes >= 3;
}

/** Validates the properties of a POST or PATCH body and returns the changes to apply. */
function validateUserBody(ctx: Ctx, deps: GraphDeps, body: Record<string, unknown>, existing: StoredUser | null) {
  for (const key of Object.keys(body)) {
    if (key.startsWith('@')) continue;
    if (READ_ONLY.has(key)) {
      if (key === 'id' && existing === null) continue; // Graph ignores a client-chosen id on create
      throw graphError(ctx, 400, 'Request_BadRequest', `Property '${key}' is read-only and cannot be set.`);
    }
    if (!WRITABLE.has(key)) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        `Property '${key}' does not exist as a declared property or extension property.`,
      );
    }
  }
  for (const key of WRITABLE_STRING) {
    if (key in body && body[key] !== null && typeof body[key] !== 'string') throw invalidValue(ctx, key);
  }
  if ('accountEnabled' in body && typeof body.accountEnabled !== 'boolean') throw invalidValue(ctx, 'accountEnabled');
  if (
    'businessPhones' in body &&
    !(Array.isArray(body.businessPhones) && body.businessPhones.every((p) => typeof p === 'string'))
  ) {
    throw invalidValue(ctx, 'businessPhones');
  }
  if (existing === null) {
    for (const key of ['accountEnabled', 'displayName', 'mailNickname', 'userPrincipalName', 'passwordProfile']) {
      if (body[key] === undefined || body[key] === null || body[key] === '') throw invalidValue(ctx, key);
    }
  }
  if ('mailNickname' in body) {
    const nick = body.mailNickname;
    if (typeof nick !== 'string' || nick === '' || nick.length > 64 || /[@\s()<>,;:\\"[\]]/.test(nick)) {
      throw invalidValue(ctx, 'mailNickname');
    }
  }
  if ('displayName' in body && (typeof body.displayName !== 'string' || body.displayName.trim() === '')) {
    throw invalidValue(ctx, 'displayName');
  }
  if ('usageLocation' in body && body.usageLocation !== null) {
    if (typeof body.usageLocation !== 'string' || !/^[A-Za-z]{2}$/.test(body.usageLocation)) {
      throw invalidValue(ctx, 'usageLocation');
    }
  }
  if ('userPrincipalName' in body) {
    const upn = body.userPrincipalName as string;
    // Microsoft's UPN rules (KB 2439357): the user name up to 64 of A-Z a-z 0-9 ' . - _ ! # ^ ~,
    // no period just before the @; the domain up to 48 characters.
    const m = /^([A-Za-z0-9'._!#^~-]{1,64})@([A-Za-z0-9.-]{1,48})$/.exec(upn);
    if (!m || m[1]!.startsWith('.') || m[1]!.endsWith('.')) throw invalidValue(ctx, 'userPrincipalName');
    if (!VERIFIED_DOMAINS.includes(m[2]!.toLowerCase())) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.',
        { details: [{ code: 'InvalidValue', target: 'userPrincipalName' }] },
      );
    }
    const clash = deps.store.findUser(upn);
    if (clash && clash !== existing) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        'Another object with the same value for property userPrincipalName already exists.',
        {
          details: [
            {
              code: 'ObjectConflict',
              message: 'Another object with the same value for property userPrincipalName already exists.',
              target: 'userPrincipalName',
            },
          ],
        },
      );
    }
  }
  let password: string | null = null;
  if ('passwordProfile' in body) {
    const profile = body.passwordProfile;
    if (!isObject(profile) || typeof profile.password !== 'string') throw invalidValue(ctx, 'passwordProfile');
    if (!passwordIsComplex(profile.password)) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        'The specified password does not comply with password complexity requirements. Please provide a different password.',
      );
    }
    password = profile.password;
  }
  return { password };
}

function applyUserBody(u: StoredUser, body: Record<string, unknown>): void {
  const target = u.user as unknown as Record<string, unknown>;
  for (const key of WRITABLE_STRING) {
    if (key in body)
      target[key] = key === 'usageLocation' && body[key] ? (body[key] as string).toUpperCase() : body[key];
  }
  if ('accountEnabled' in body) target.accountEnabled = body.accountEnabled;
  if ('businessPhones' in body) target.businessPhones = body.businessPhones;
  if ('passwordProfile' in body && isObject(body.passwordProfile)) {
    target.passwordProfile = {
      forceChangePasswordNextSignIn: body.passwordProfile.forceChangePasswordNextSignIn !== false,
    };
  }
}

function readBodyObject(ctx: Ctx): Record<string, unknown> {
  if (ctx.bodyError !== null || !isObject(ctx.body)) {
    throw graphError(
      ctx,
      400,
      'BadRequest',
      'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
    );
  }
  return ctx.body;
}

function createUser(ctx: Ctx, deps: GraphDeps): Reply {
  requireRole(ctx, WRITE_USERS);
  const body = readBodyObject(ctx);
  const { password } = validateUserBody(ctx, deps, body, null);
  const u: StoredUser = {
    user: {
      id: randomUUID(),
      userPrincipalName: body.userPrincipalName as string,
      assignedLicenses: [],
    },
    password,
    createdAt: ctx.now,
    licensedAt: {},
    changedAt: ctx.now,
    forcedSyncAt: {},
    deletedAt: null,
  };
  applyUserBody(u, body);
  deps.store.data.users.push(u);
  deps.store.changed();
  return json(
    201,
    { '@odata.context': context(ctx, 'users', null, true), ...renderUser(u, null) },
    {
      location: `${ctx.baseUrl}/v2/${TENANT_ID}/directoryObjects/${u.user.id}/Microsoft.DirectoryServices.User`,
    },
  );
}

function listUsers(ctx: Ctx, deps: GraphDeps): Reply {
  requireRole(ctx, READ_USERS);
  let select: string[] | null;
  let predicate: (row: Record<string, unknown>) => boolean = () => true;
  try {
    select = parseSelect(ctx.query.get('$select'), { typeName: USER_TYPE, schema: USER_SCHEMA });
  } catch (err) {
    queryError(ctx, err, 'Parsing OData Select and Expand failed');
  }
  const filter = ctx.query.get('$filter');
  if (filter !== null) {
    try {
      predicate = compileFilter(filter, { typeName: USER_TYPE, schema: USER_SCHEMA });
    } catch (err) {
      queryError(ctx, err);
    }
  }
  const topRaw = ctx.query.get('$top');
  const top = topRaw === null ? 100 : Number(topRaw);
  if (!Number.isInteger(top) || top < 1 || top > 999) {
    throw graphError(
      ctx,
      400,
      'Request_UnsupportedQuery',
      `Invalid page size specified: '${topRaw}'. Must be between 1 and 999 inclusive.`,
    );
  }
  let offset = 0;
  const skipToken = ctx.query.get('$skiptoken') ?? ctx.query.get('$skipToken');
  if (skipToken !== null) {
    const decoded = Number(
      Buffer.from(skipToken, 'base64url')
        .toString('utf8')
        .replace(/^offset:/, ''),
    );
    if (!Number.isInteger(decoded) || decoded < 0) {
      throw graphError(ctx, 400, 'Request_UnsupportedQuery', 'Specified skip token is invalid.');
    }
    offset = decoded;
  }
  let order: ((a: Record<string, unknown>, b: Record<string, unknown>) => number) | null = null;
  try {
    order = compileOrderBy(ctx.query.get('$orderby'), { typeName: USER_TYPE, schema: USER_SCHEMA });
  } catch (err) {
    queryError(ctx, err, 'Invalid orderby clause');
  }
  const rows = deps.store
    .liveUsers()
    .filter((u) => visible(u, ctx, deps))
    .filter((u) => predicate(userView(u) as Record<string, unknown>));
  if (order) rows.sort((a, b) => order(userView(a) as Record<string, unknown>, userView(b) as Record<string, unknown>));
  const page = rows.slice(offset, offset + top);
  const out: Record<string, unknown> = {
    '@odata.context': context(ctx, 'users', select, false),
  };
  if (offset + top < rows.length) {
    const next = new URLSearchParams();
    for (const [k, v] of ctx.query) if (k.toLowerCase() !== '$skiptoken') next.set(k, v);
    next.set('$top', String(top));
    next.set('$skiptoken', Buffer.from(`offset:${offset + top}`).toString('base64url'));
    out['@odata.nextLink'] = `${ctx.baseUrl}/v1.0/users?${odataQuery(next)}`;
  }
  out.value = page.map((u) => renderUser(u, select));
  return json(200, out);
}

function readUser(ctx: Ctx, deps: GraphDeps, key: string): Reply {
  requireRole(ctx, READ_USERS);
  const u = getUser(ctx, deps, key);
  let select: string[] | null;
  try {
    select = parseSelect(ctx.query.get('$select'), { typeName: USER_TYPE, schema: USER_SCHEMA });
  } catch (err) {
    queryError(ctx, err, 'Parsing OData Select and Expand failed');
  }
  return json(200, { '@odata.context': context(ctx, 'users', select, true), ...renderUser(u, select) });
}

function updateUser(ctx: Ctx, deps: GraphDeps, key: string): Reply {
  requireRole(ctx, WRITE_USERS);
  const u = getUser(ctx, deps, key);
  const body = readBodyObject(ctx);
  const { password } = validateUserBody(ctx, deps, body, u);
  const wasEnabled = u.user.accountEnabled;
  applyUserBody(u, body);
  if (password !== null) u.password = password;
  if (u.user.accountEnabled !== wasEnabled) u.changedAt = ctx.now;
  deps.store.changed();
  return empty(204);
}

function deleteUser(ctx: Ctx, deps: GraphDeps, key: string): Reply {
  requireRole(ctx, WRITE_USERS);
  const u = getUser(ctx, deps, key);
  u.deletedAt = ctx.now;
  u.changedAt = ctx.now;
  for (const g of deps.store.data.groups) g.members = g.members.filter((m) => m !== u.user.id);
  deps.store.changed();
  return empty(204);
}

function assignLicense(ctx: Ctx, deps: GraphDeps, key: string): Reply {
  requireRole(ctx, ASSIGN_LICENSES);
  const u = getUser(ctx, deps, key);
  const body = readBodyObject(ctx);
  const missing = ['addLicenses', 'removeLicenses'].filter((p) => !Array.isArray(body[p]));
  if (missing.length) {
    throw graphError(
      ctx,
      400,
      'Request_BadRequest',
      `One or more parameters of the function import 'assignLicense' are missing from the request payload. The missing parameters are: ${missing.join(', ')}.`,
    );
  }
  const adds = body.addLicenses as unknown[];
  const removes = body.removeLicenses as unknown[];
  const addIds: { skuId: string; disabledPlans: string[] }[] = [];
  for (const item of adds) {
    if (!isObject(item) || typeof item.skuId !== 'string' || !GUID_RE.test(item.skuId)) {
      throw invalidValue(ctx, 'addLicenses', 'assignLicense');
    }
    const sku = deps.store.sku(item.skuId);
    if (!sku) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        `License ${item.skuId} does not correspond to a valid company License.`,
      );
    }
    const disabled = Array.isArray(item.disabledPlans) ? (item.disabledPlans as string[]) : [];
    addIds.push({ skuId: sku.skuId, disabledPlans: disabled });
  }
  const removeIds: string[] = [];
  for (const id of removes) {
    if (typeof id !== 'string' || !GUID_RE.test(id)) throw invalidValue(ctx, 'removeLicenses', 'assignLicense');
    removeIds.push(id.toLowerCase());
  }
  const current = u.user.assignedLicenses ?? [];
  const has = (skuId: string) => current.some((l) => l.skuId === skuId);
  if (addIds.length && !u.user.usageLocation) {
    throw graphError(
      ctx,
      400,
      'Request_BadRequest',
      'License assignment cannot be done for user with invalid usage location.',
    );
  }
  for (const add of addIds) {
    if (has(add.skuId)) continue; // assigning a license the user already has changes nothing
    const sku = deps.store.sku(add.skuId)!;
    if (sku.seats + sku.warning - deps.store.consumedUnits(sku.skuId) < 1) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        `Subscription with SKU ${sku.skuId} (${sku.skuPartNumber}) does not have any available licenses.`,
      );
    }
  }
  for (const id of removeIds) {
    if (!has(id)) throw graphError(ctx, 400, 'Request_BadRequest', 'User does not have a corresponding license.');
  }
  const next = current.filter((l) => !removeIds.includes(l.skuId ?? ''));
  for (const add of addIds) {
    const existing = next.find((l) => l.skuId === add.skuId);
    if (existing) {
      existing.disabledPlans = add.disabledPlans;
    } else {
      next.push({ skuId: add.skuId, disabledPlans: add.disabledPlans });
      u.licensedAt[add.skuId] = ctx.now;
    }
  }
  for (const id of removeIds) delete u.licensedAt[id];
  u.user.assignedLicenses = next;
  u.changedAt = ctx.now;
  if (removeIds.some((id) => deps.store.sku(id)?.grantsDataverse)) deps.store.applyRevertWindow(u, ctx.now);
  deps.store.changed();
  return json(200, { '@odata.context': context(ctx, 'users', null, true), ...renderUser(u, null) });
}

function skuView(ctx: Ctx, deps: GraphDeps, skuId: string): Record<string, unknown> {
  const sku = deps.store.sku(skuId)!;
  const resource: Graph.SubscribedSku & { accountId: string; accountName: string; subscriptionIds: string[] } = {
    accountId: TENANT_ID,
    accountName: TENANT_DISPLAY_NAME,
    appliesTo: 'User',
    capabilityStatus: 'Enabled',
    consumedUnits: deps.store.consumedUnits(sku.skuId),
    id: `${TENANT_ID}_${sku.skuId}`,
    prepaidUnits: { enabled: sku.seats, lockedOut: 0, suspended: 0, warning: sku.warning },
    servicePlans: sku.servicePlans,
    skuId: sku.skuId,
    skuPartNumber: sku.skuPartNumber,
    subscriptionIds: [stableSubscription(sku.skuId)],
  };
  void ctx;
  return resource as unknown as Record<string, unknown>;
}

function stableSubscription(skuId: string): string {
  return `${skuId.slice(0, 8)}-0000-4000-8000-${skuId.slice(-12)}`;
}

const SKU_SCHEMA: EntitySchema = {
  accountId: 'string',
  accountName: 'string',
  appliesTo: 'string',
  capabilityStatus: 'string',
  consumedUnits: 'int',
  id: 'string',
  prepaidUnits: 'collection',
  servicePlans: 'collection',
  skuId: 'guid',
  skuPartNumber: 'string',
  subscriptionIds: 'collection',
};

function subscribedSkus(ctx: Ctx, deps: GraphDeps, id: string | undefined): Reply {
  requireRole(ctx, READ_ORG);
  let select: string[] | null;
  try {
    select = parseSelect(ctx.query.get('$select'), { typeName: 'microsoft.graph.subscribedSku', schema: SKU_SCHEMA });
  } catch (err) {
    queryError(ctx, err, 'Parsing OData Select and Expand failed');
  }
  if (id !== undefined) {
    const skuId = id.split('_').pop() ?? '';
    if (!id.startsWith(`${TENANT_ID}_`) || !deps.store.sku(skuId)) throw notFound(ctx, id);
    return json(200, {
      '@odata.context': context(ctx, 'subscribedSkus', select, true),
      ...project(skuView(ctx, deps, skuId), select),
    });
  }
  return json(200, {
    '@odata.context': context(ctx, 'subscribedSkus', select, false),
    value: deps.store.data.skus.map((s) => project(skuView(ctx, deps, s.skuId), select)),
  });
}

function groupView(g: { id: string; displayName: string; mailNickname: string }): Record<string, unknown> {
  return {
    id: g.id,
    displayName: g.displayName,
    mailNickname: g.mailNickname,
    mailEnabled: false,
    securityEnabled: true,
    groupTypes: [],
  };
}

function findGroup(ctx: Ctx, deps: GraphDeps, id: string) {
  const g = deps.store.data.groups.find((x) => x.id === id.toLowerCase());
  if (!g) throw notFound(ctx, id);
  return g;
}

function groups(ctx: Ctx, deps: GraphDeps, rest: string[]): Reply {
  const [groupId, nav, memberId, ref] = rest;
  if (groupId === undefined) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx);
    requireRole(ctx, READ_GROUPS);
    let predicate: (row: Record<string, unknown>) => boolean = () => true;
    const filter = ctx.query.get('$filter');
    if (filter !== null) {
      try {
        predicate = compileFilter(filter, { typeName: 'microsoft.graph.group', schema: GROUP_SCHEMA });
      } catch (err) {
        queryError(ctx, err);
      }
    }
    return json(200, {
      '@odata.context': context(ctx, 'groups', null, false),
      value: deps.store.data.groups.map(groupView).filter(predicate),
    });
  }
  const group = findGroup(ctx, deps, groupId);
  if (nav === undefined) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx);
    requireRole(ctx, READ_GROUPS);
    return json(200, { '@odata.context': context(ctx, 'groups', null, true), ...groupView(group) });
  }
  if (nav !== 'members') throw notFound(ctx, nav);
  if (memberId === undefined) {
    if (ctx.method !== 'GET') throw methodNotAllowed(ctx);
    requireRole(ctx, READ_GROUPS);
    const members = group.members.map((m) => deps.store.findUser(m)).filter((u): u is StoredUser => !!u);
    return json(200, {
      '@odata.context': context(ctx, 'directoryObjects', null, false),
      value: members.map((u) => ({ '@odata.type': '#microsoft.graph.user', ...renderUser(u, null) })),
    });
  }
  if (memberId === '$ref' && ctx.method === 'POST') {
    requireRole(ctx, WRITE_GROUPS);
    const body = readBodyObject(ctx);
    const ref = body['@odata.id'];
    const m = typeof ref === 'string' ? /\/(?:directoryObjects|users)\/([^/?]+)$/.exec(ref) : null;
    if (!m) throw invalidValue(ctx, '@odata.id', 'Group');
    const u = deps.store.findUser(decodeURIComponent(m[1]!));
    if (!u) throw notFound(ctx, m[1]!);
    if (group.members.includes(u.user.id)) {
      throw graphError(
        ctx,
        400,
        'Request_BadRequest',
        "One or more added object references already exist for the following modified properties: 'members'.",
      );
    }
    group.members.push(u.user.id);
    deps.store.changed();
    return empty(204);
  }
  if (ref === '$ref' && ctx.method === 'DELETE') {
    requireRole(ctx, WRITE_GROUPS);
    const u = deps.store.findUser(memberId);
    if (!u || !group.members.includes(u.user.id)) throw notFound(ctx, memberId);
    group.members = group.members.filter((x) => x !== u.user.id);
    deps.store.changed();
    return empty(204);
  }
  throw methodNotAllowed(ctx);
}

function methodNotAllowed(ctx: Ctx): HttpError {
  return graphError(
    ctx,
    405,
    'Request_BadRequest',
    `The request method '${ctx.method}' is not supported for this resource.`,
  );
}

export async function handleGraph(ctx: Ctx, deps: GraphDeps): Promise<Reply> {
  const parts = ctx.path.split('/').filter(Boolean).slice(1); // drop "v1.0"
  const [collection, key, action] = parts;
  if (!collection) throw graphError(ctx, 400, 'BadRequest', 'Invalid request.');
  await authenticate(ctx, deps);
  switch (collection) {
    case 'users': {
      if (key === undefined) {
        if (ctx.method === 'GET') return listUsers(ctx, deps);
        if (ctx.method === 'POST') return createUser(ctx, deps);
        throw methodNotAllowed(ctx);
      }
      if (action === undefined) {
        if (ctx.method === 'GET') return readUser(ctx, deps, key);
        if (ctx.method === 'PATCH') return updateUser(ctx, deps, key);
        if (ctx.method === 'DELETE') return deleteUser(ctx, deps, key);
        throw methodNotAllowed(ctx);
      }
      if (action === 'assignLicense' && ctx.method === 'POST' && parts.length === 3)
        return assignLicense(ctx, deps, key);
      if (action === 'memberOf' && ctx.method === 'GET' && parts.length === 3) {
        requireRole(ctx, READ_USERS);
        const u = getUser(ctx, deps, key);
        return json(200, {
          '@odata.context': context(ctx, 'directoryObjects', null, false),
          value: deps.store.data.groups
            .filter((g) => g.members.includes(u.user.id))
            .map((g) => ({ '@odata.type': '#microsoft.graph.group', ...groupView(g) })),
        });
      }
      throw graphError(ctx, 400, 'BadRequest', `Resource not found for the segment '${action}'.`);
    }
    case 'subscribedSkus':
      if (ctx.method !== 'GET' || parts.length > 2) throw methodNotAllowed(ctx);
      return subscribedSkus(ctx, deps, key);
    case 'groups':
      return groups(ctx, deps, parts.slice(1));
    case 'organization':
      requireRole(ctx, READ_ORG);
      return json(200, {
        '@odata.context': context(ctx, 'organization', null, false),
        value: [
          {
            id: TENANT_ID,
            displayName: TENANT_DISPLAY_NAME,
            verifiedDomains: VERIFIED_DOMAINS.map((name, i) => ({
              capabilities: 'Email, OfficeCommunicationsOnline',
              isDefault: i === 0,
              isInitial: i === 0,
              name,
              type: 'Managed',
            })),
          },
        ],
      });
    case 'domains':
      requireRole(ctx, [...READ_ORG, ...READ_USERS]);
      return json(200, {
        '@odata.context': context(ctx, 'domains', null, false),
        value: VERIFIED_DOMAINS.map((id, i) => ({ id, isDefault: i === 0, isInitial: i === 0, isVerified: true })),
      });
    default:
      throw graphError(ctx, 400, 'BadRequest', `Resource not found for the segment '${collection}'.`);
  }
}
