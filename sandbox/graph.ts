// Microsoft Graph v1.0, the part the provisioner uses: users (create, read, update, delete,
// list with $filter/$select/$top paging), assignLicense, subscribedSkus, group membership
// ($ref), organization and domains. Errors are Graph's (Request_BadRequest with ObjectConflict
// for a duplicate UPN, Request_ResourceNotFound, Authorization_RequestDenied, ...).
// This file authenticates the bearer token and routes each call; the resources live in
// graph-users.ts (with the user's schema and checks in graph-user-schema.ts), graph-licenses.ts
// and graph-groups.ts, on the helpers of graph-shared.ts.
import { groups, memberOf } from './graph-groups';
import { assignLicense, subscribedSkus } from './graph-licenses';
import { type GraphDeps, READ_DOMAINS, READ_ORG, context, methodNotAllowed, requireRole } from './graph-shared';
import { createUser, deleteUser, listUsers, readUser, updateUser } from './graph-users';
import type { Ctx, Reply } from './http';
import { bearerToken, graphError, json } from './http';
import { GRAPH_AUDIENCE, TENANT_DISPLAY_NAME, TENANT_ID, VERIFIED_DOMAINS } from './seed';

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
      if (action === 'memberOf' && ctx.method === 'GET' && parts.length === 3) return memberOf(ctx, deps, key);
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
      requireRole(ctx, READ_DOMAINS);
      return json(200, {
        '@odata.context': context(ctx, 'domains', null, false),
        value: VERIFIED_DOMAINS.map((id, i) => ({ id, isDefault: i === 0, isInitial: i === 0, isVerified: true })),
      });
    default:
      throw graphError(ctx, 400, 'BadRequest', `Resource not found for the segment '${collection}'.`);
  }
}
