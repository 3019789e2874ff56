// Graph v1.0 /users: create (201 with a Location header), list ($filter, $select, $orderby,
// $top up to 999 and $skiptoken next links), read, update and delete of a user, answering
// as Graph does. A user created moments ago can be briefly invisible (the replication delay
// setting), as a directory replica that has not caught up yet would be.
import { randomUUID } from 'node:crypto';
import {
  DELETE_USERS,
  type GraphDeps,
  PASSWORD_ROLES,
  READ_USERS,
  SET_PASSWORD,
  WRITE_USERS,
  context,
  notFound,
  queryError,
  readBodyObject,
  requireDirectoryRole,
  requireRole,
} from './graph-shared';
import { USER_SCHEMA, USER_TYPE, applyUserBody, renderUser, userView, validateUserBody } from './graph-user-schema';
import type { Ctx, Reply } from './http';
import { empty, graphError, json, odataQuery } from './http';
import { compileOrderBy, parseSelect } from './odata';
import { compileFilter } from './odata-filter';
import { TENANT_ID } from './seed';
import type { StoredUser } from './types';

function visible(u: StoredUser, ctx: Ctx, deps: GraphDeps): boolean {
  // A newly created user can be briefly invisible to the next call (replication).
  return ctx.now >= u.createdAt + deps.store.data.settings.replicationDelayMs;
}

export function getUser(ctx: Ctx, deps: GraphDeps, key: string): StoredUser {
  const u = deps.store.findUser(key);
  if (!u || !visible(u, ctx, deps)) throw notFound(ctx, key);
  return u;
}

export function createUser(ctx: Ctx, deps: GraphDeps): Reply {
  requireRole(ctx, WRITE_USERS);
  const body = readBodyObject(ctx);
  const { password } = validateUserBody(ctx, deps, body, null);
  const u: StoredUser = {
    user: {
      id: randomUUID(),
      userPrincipalName: body.userPrincipalName as string,
      assignedLicenses: [],
      // Set with the first password, and again with each new one (Graph returns it on $select only).
      lastPasswordChangeDateTime: new Date(ctx.now).toISOString(),
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

export function listUsers(ctx: Ctx, deps: GraphDeps): Reply {
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

export function readUser(ctx: Ctx, deps: GraphDeps, key: string): Reply {
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

export function updateUser(ctx: Ctx, deps: GraphDeps, key: string): Reply {
  requireRole(ctx, WRITE_USERS);
  const u = getUser(ctx, deps, key);
  const body = readBodyObject(ctx);
  if ('passwordProfile' in body) {
    // Resetting an existing user's password takes a directory role besides the permission
    // (creating a user with a password does not).
    requireRole(ctx, SET_PASSWORD);
    requireDirectoryRole(ctx, PASSWORD_ROLES);
  }
  const { password } = validateUserBody(ctx, deps, body, u);
  const wasEnabled = u.user.accountEnabled;
  applyUserBody(u, body);
  if (password !== null) {
    u.password = password;
    u.user.lastPasswordChangeDateTime = new Date(ctx.now).toISOString();
  }
  if (u.user.accountEnabled !== wasEnabled) u.changedAt = ctx.now;
  deps.store.changed();
  return empty(204);
}

export function deleteUser(ctx: Ctx, deps: GraphDeps, key: string): Reply {
  requireRole(ctx, DELETE_USERS);
  const u = getUser(ctx, deps, key);
  u.deletedAt = ctx.now;
  u.changedAt = ctx.now;
  for (const g of deps.store.data.groups) g.members = g.members.filter((m) => m !== u.user.id);
  deps.store.changed();
  return empty(204);
}
