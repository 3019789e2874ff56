// What every emulated Graph v1.0 handler shares: the dependencies, the application permissions
// each kind of call needs (Graph answers Authorization_RequestDenied without one), the
// `@odata.context` URL, and Graph's common error bodies (unsupported query, resource not found,
// invalid property value, unreadable payload, method not allowed). Kept apart from the
// dispatcher (graph.ts) so the resource files import it without importing the dispatcher.
import type { Ctx } from './http';
import { HttpError, graphError, isObject } from './http';
import { ODataError } from './odata';
import type { Store } from './store';
import type { TokenService } from './tokens';

export interface GraphDeps {
  store: Store;
  tokens: TokenService;
}

export const READ_USERS = ['User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
export const WRITE_USERS = ['User.ReadWrite.All', 'Directory.ReadWrite.All'];
export const ASSIGN_LICENSES = ['LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'];
export const READ_ORG = ['Organization.Read.All', 'Directory.Read.All', 'LicenseAssignment.ReadWrite.All'];
export const READ_GROUPS = [
  'GroupMember.Read.All',
  'GroupMember.ReadWrite.All',
  'Group.Read.All',
  'Directory.Read.All',
];
export const WRITE_GROUPS = ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'];

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

export function requireRole(ctx: Ctx, anyOf: string[]): void {
  const roles = ctx.auth?.roles ?? [];
  if (!anyOf.some((r) => roles.includes(r))) {
    throw graphError(ctx, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
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
