// Graph v1.0 groups: list (with $filter) and read of the security groups, their members, and
// membership changes by reference (POST members/$ref with an @odata.id, DELETE
// members/{id}/$ref), plus a user's memberOf. A duplicate member fails as Graph's "added object
// references already exist".
import {
  type GraphDeps,
  READ_GROUPS,
  READ_MEMBERS,
  READ_MEMBER_OF,
  READ_USERS,
  WRITE_GROUPS,
  context,
  invalidValue,
  hasRole,
  methodNotAllowed,
  notFound,
  queryError,
  readBodyObject,
  requireRole,
} from './graph-shared';
import { renderUser } from './graph-user-schema';
import { getUser } from './graph-users';
import type { Ctx, Reply } from './http';
import { empty, graphError, json } from './http';
import type { EntitySchema } from './odata';
import { compileFilter } from './odata-filter';
import type { StoredUser } from './types';

const GROUP_SCHEMA: EntitySchema = { id: 'string', displayName: 'string', mailNickname: 'string' };

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

export function groups(ctx: Ctx, deps: GraphDeps, rest: string[]): Reply {
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
    requireRole(ctx, READ_MEMBERS);
    const members = group.members.map((m) => deps.store.findUser(m)).filter((u): u is StoredUser => !!u);
    // "Limited information returned for inaccessible member objects": a caller that may not read
    // users gets each one's type and id, every other property null.
    const full = hasRole(ctx, READ_USERS);
    const view = (u: StoredUser) =>
      full
        ? renderUser(u, null)
        : Object.fromEntries(Object.keys(renderUser(u, null)).map((k) => [k, k === 'id' ? u.user.id : null]));
    return json(200, {
      '@odata.context': context(ctx, 'directoryObjects', null, false),
      value: members.map((u) => ({ '@odata.type': '#microsoft.graph.user', ...view(u) })),
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
    group.joinedAt = { ...group.joinedAt, [u.user.id]: ctx.now };
    u.changedAt = ctx.now; // environments restricted to the group see it at their next sync
    deps.store.changed();
    return empty(204);
  }
  if (ref === '$ref' && ctx.method === 'DELETE') {
    requireRole(ctx, WRITE_GROUPS);
    const u = deps.store.findUser(memberId);
    if (!u || !group.members.includes(u.user.id)) throw notFound(ctx, memberId);
    group.members = group.members.filter((x) => x !== u.user.id);
    if (group.joinedAt) delete group.joinedAt[u.user.id];
    u.changedAt = ctx.now;
    deps.store.changed();
    return empty(204);
  }
  throw methodNotAllowed(ctx);
}

/** GET /users/{id}/memberOf: the groups that list the user as a member. */
export function memberOf(ctx: Ctx, deps: GraphDeps, key: string): Reply {
  requireRole(ctx, READ_MEMBER_OF);
  const u = getUser(ctx, deps, key);
  return json(200, {
    '@odata.context': context(ctx, 'directoryObjects', null, false),
    value: deps.store.data.groups
      .filter((g) => g.members.includes(u.user.id))
      .map((g) => ({ '@odata.type': '#microsoft.graph.group', ...groupView(g) })),
  });
}
