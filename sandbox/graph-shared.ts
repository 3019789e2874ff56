// What every emulated Graph v1.0 handler shares: the dependencies, the application permissions
// (token `roles`) and directory roles (token `wids`) each kind of call needs (Graph answers
// Authorization_RequestDenied without them), the `@odata.context` URL, and Graph's common error
// bodies (unsupported query, resource not found, invalid property value, unreadable payload,
// method not allowed). Kept apart from the dispatcher (graph.ts) so the resource files import it
// without importing the dispatcher.
import { DIRECTORY_ROLES } from './directory';
import type { Ctx } from './http';
import { HttpError, graphError, isObject } from './http';
import { ODataError } from './odata';
import type { Store } from './store';
import type { TokenService } from './tokens';

export interface GraphDeps {
  store: Store;
  tokens: TokenService;
}

// Each list is the call's row "Application" of Microsoft's permission table for it (Graph v1.0
// reference: least privileged, then the higher privileged ones); a token needs one of them.
/** Get user, list users (user-get, user-list). */
export const READ_USERS = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
/** Create user, update user (user-post-users, user-update). */
export const WRITE_USERS = ['User.ReadWrite.All', 'Directory.ReadWrite.All'];
/** Delete user (user-delete): no higher privileged permission; Directory.ReadWrite.All cannot. */
export const DELETE_USERS = ['User.ReadWrite.All'];
/**
 * Setting `passwordProfile` on an existing user (user-update): "In application-only access, the
 * calling app must be assigned the User.ReadWrite.All application permission and at least the User
 * Administrator Microsoft Entra role". The later User-PasswordProfile.ReadWrite.All serves too.
 */
export const SET_PASSWORD = ['User.ReadWrite.All', 'User-PasswordProfile.ReadWrite.All'];
/** ...and one of these directory roles: User Administrator or one that can reset any password. */
export const PASSWORD_ROLES = ['User Administrator', 'Privileged Authentication Administrator', 'Global Administrator'];
/** user: assignLicense. */
export const ASSIGN_LICENSES = ['LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
/** List subscribedSkus: LicenseAssignment.ReadWrite.All is not in the table, so it does not read them. */
export const READ_SKUS = [
  'LicenseAssignment.Read.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
  'Organization.Read.All',
  'Organization.ReadWrite.All',
];
/** Get organization. */
export const READ_ORG = [
  'Organization.Read.All',
  'Directory.Read.All',
  'Organization.ReadWrite.All',
  'Directory.ReadWrite.All',
];
/** List domains. */
export const READ_DOMAINS = ['Domain.Read.All', 'Domain.ReadWrite.All', 'Directory.Read.All'];
/**
 * Get group, list groups (group-get, group-list), plus GroupMember.ReadWrite.All, which the
 * permissions reference describes as "Allows the app to list groups, read basic properties, read
 * and update the membership of the groups".
 */
export const READ_GROUPS = [
  'GroupMember.Read.All',
  'GroupMember.ReadWrite.All',
  'Group.Read.All',
  'Group.ReadWrite.All',
  'Directory.Read.All',
  'Directory.ReadWrite.All',
];
/** List group members (group-list-members). */
export const READ_MEMBERS = [
  'GroupMember.Read.All',
  'Directory.Read.All',
  'Group.Read.All',
  'Group.ReadWrite.All',
  'GroupMember.ReadWrite.All',
];
/** Add member, remove member (group-post-members, group-delete-members). */
export const WRITE_GROUPS = ['GroupMember.ReadWrite.All', 'Directory.ReadWrite.All', 'Group.ReadWrite.All'];
/** List another user's direct memberships (user-list-memberof): Directory.* only. */
export const READ_MEMBER_OF = ['Directory.Read.All', 'Directory.ReadWrite.All'];

/** Every Graph application permission the sandbox checks (the control API accepts these). */
export const GRAPH_PERMISSIONS = [
  ...new Set([
    ...READ_USERS,
    ...WRITE_USERS,
    ...SET_PASSWORD,
    ...ASSIGN_LICENSES,
    ...READ_SKUS,
    ...READ_ORG,
    ...READ_DOMAINS,
    ...READ_GROUPS,
    ...WRITE_GROUPS,
  ]),
].sort();

export function queryError(ctx: Ctx, err: unknown, prefix = 'Invalid filter clause'): never {
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

function insufficientPrivileges(ctx: Ctx): HttpError {
  return graphError(ctx, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
}

/** The token's `roles` must hold one of `anyOf` (Graph's answer otherwise). */
export function requireRole(ctx: Ctx, anyOf: string[]): void {
  if (!hasRole(ctx, anyOf)) throw insufficientPrivileges(ctx);
}

export function hasRole(ctx: Ctx, anyOf: string[]): boolean {
  const roles = ctx.auth?.roles ?? [];
  return anyOf.some((r) => roles.includes(r));
}

/** The token's `wids` must hold one of these directory roles (by display name). */
export function requireDirectoryRole(ctx: Ctx, anyOf: string[]): void {
  const wids = ctx.auth?.wids ?? [];
  if (!anyOf.some((name) => wids.includes(DIRECTORY_ROLES[name]!))) throw insufficientPrivileges(ctx);
}

export function context(ctx: Ctx, set: string, select: string[] | null, entity: boolean): string {
  return `${ctx.baseUrl}/v1.0/$metadata#${set}${select ? `(${select.join(',')})` : ''}${entity ? '/$entity' : ''}`;
}

export function notFound(ctx: Ctx, key: string): HttpError {
  return graphError(
    ctx,
    404,
    'Request_ResourceNotFound',
    `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
  );
}

export function invalidValue(ctx: Ctx, property: string, resource = 'User'): HttpError {
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

export function readBodyObject(ctx: Ctx): Record<string, unknown> {
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

export function methodNotAllowed(ctx: Ctx): HttpError {
  return graphError(
    ctx,
    405,
    'Request_BadRequest',
    `The request method '${ctx.method}' is not supported for this resource.`,
  );
}
