// What the emulated Dataverse Web API's handlers share: the dependencies, the error codes more
// than one of them answers with, the environment's URLs (for @odata.context, next links and
// entity ids), the Prefer header (odata.maxpagesize, formatted values, return=representation),
// and the parsing of a row key and a JSON body with Dataverse's own error messages. Kept apart
// from the dispatcher (dataverse.ts) so the handler files do not import the dispatcher.
import type { Ctx } from './http';
import { GUID_RE, HttpError, dataverseError, headerValue, isObject } from './http';
import { ODataError } from './odata';
import type { Store } from './store';
import type { TokenService } from './tokens';
import type { Environment } from './types';

export interface DataverseDeps {
  store: Store;
  tokens: TokenService;
  port: number;
}

export const CODE_QUERY = '0x80060888';
export const CODE_NOT_FOUND = '0x80040217';

export function queryError(err: unknown): never {
  if (err instanceof ODataError) throw dataverseError(400, CODE_QUERY, err.message);
  throw err;
}

export function notFound(logicalName: string, id: string): HttpError {
  return dataverseError(404, CODE_NOT_FOUND, `${logicalName} With Id = ${id} Does Not Exist`);
}

export function envUrl(ctx: Ctx, env: Environment): string {
  return `${ctx.baseUrl}/dataverse/${env.name}`;
}

export function apiBase(ctx: Ctx, env: Environment): string {
  return `${envUrl(ctx, env)}/api/data/v9.2`;
}

export function prefers(ctx: Ctx): { maxPageSize: number | null; annotations: boolean; representation: boolean } {
  const prefer = headerValue(ctx, 'prefer') ?? '';
  const page = /odata\.maxpagesize=(\d+)/.exec(prefer);
  return {
    maxPageSize: page ? Math.max(1, Number(page[1])) : null,
    annotations: /odata\.include-annotations="?(\*|[^"]*FormattedValue)/.test(prefer),
    representation: /return=representation/.test(prefer),
  };
}

export function parseKey(raw: string | undefined): string {
  if (raw === undefined || !GUID_RE.test(raw.replace(/[{}]/g, ''))) {
    throw dataverseError(400, CODE_QUERY, 'Bad Request - Error in query syntax.');
  }
  return raw.replace(/[{}]/g, '').toLowerCase();
}

export function bodyObject(ctx: Ctx): Record<string, unknown> {
  if (ctx.bodyError !== null || !isObject(ctx.body)) {
    throw dataverseError(
      400,
      CODE_QUERY,
      "Error identified in Payload provided by the user for Entity :'', For more information on this error please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293",
    );
  }
  return ctx.body;
}

export function methodNotAllowed(ctx: Ctx): HttpError {
  return dataverseError(405, CODE_QUERY, `The HTTP method '${ctx.method}' is not supported for this resource.`);
}
