// The sandbox's small HTTP layer: a request context, a reply value, and the error bodies each
// emulated service sends. Handlers return replies instead of writing to the socket, so the
// fault injector can swap a reply for a fault after the handler ran (a "lost" response).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TokenClaims } from './tokens';

export interface Ctx {
  req: IncomingMessage;
  method: string;
  /** Decoded path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  rawBody: string;
  /** Parsed body: JSON object, form fields (as a record) or undefined. */
  body: unknown;
  /** Set when the body claimed to be JSON and did not parse. */
  bodyError: string | null;
  /** Milliseconds since the epoch when the request arrived. */
  now: number;
  /** Base URL of the sandbox (https://127.0.0.1:PORT), for links and ids. */
  baseUrl: string;
  /** Set by the services' authentication step. */
  auth: TokenClaims | null;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialised unless it is a string (then sent as is). */
  body?: unknown;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, body, headers };
}

export function empty(status = 204, headers: Record<string, string> = {}): Reply {
  return { status, headers };
}

/** Thrown by handlers to answer with an error reply. */
export class HttpError extends Error {
  constructor(readonly reply: Reply) {
    super(`HTTP ${reply.status}`);
  }
}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses JSON or form bodies; a malformed JSON body is reported by the service handlers. */
export function parseBody(raw: string, contentType: string | undefined): { body: unknown; error: string | null } {
  if (raw === '') return { body: undefined, error: null };
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('application/x-www-form-urlencoded')) {
    return { body: Object.fromEntries(new URLSearchParams(raw)), error: null };
  }
  try {
    return { body: JSON.parse(raw) as unknown, error: null };
  } catch (err) {
    return { body: undefined, error: (err as Error).message };
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---- error shapes of the emulated services ----

/** Graph: {"error":{"code","message","innerError":{date,request-id,client-request-id}}}. */
export function graphError(
  ctx: Ctx,
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): HttpError {
  const requestId = randomUUID();
  return new HttpError(
    json(
      status,
      {
        error: {
          code,
          message,
          ...extra,
          innerError: {
            date: new Date(ctx.now).toISOString().replace(/\.\d{3}Z$/, ''),
            'request-id': requestId,
            'client-request-id': headerValue(ctx, 'client-request-id') ?? requestId,
          },
        },
      },
      { 'request-id': requestId, ...headers },
    ),
  );
}

/** Dataverse: {"error":{"code":"0x…","message"}}. */
export function dataverseError(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return new HttpError(json(status, { error: { code, message } }, headers));
}

/** OAuth 2 / Entra ID: {"error","error_description","error_codes",...}. */
export function oauthError(status: number, error: string, aadsts: number, description: string): HttpError {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, 'Z');
  return new HttpError(
    json(
      status,
      {
        error,
        error_description: `AADSTS${aadsts}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
        error_codes: [aadsts],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
      },
      { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
    ),
  );
}

/** Power Platform admin (BAP) and Key Vault: {"error":{"code","message"}}. */
export function codeError(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return new HttpError(json(status, { error: { code, message } }, headers));
}

export function headerValue(ctx: Ctx, name: string): string | undefined {
  const v = ctx.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function bearerToken(ctx: Ctx): string | null {
  const auth = headerValue(ctx, 'authorization');
  if (!auth) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  return m ? m[1]! : null;
}

export const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A query string as OData services write it in next links: `$` names kept literal. */
export function odataQuery(params: URLSearchParams): string {
  return [...params]
    .map(([k, v]) => `${encodeURIComponent(k).replace(/^%24/, '$')}=${encodeURIComponent(v)}`)
    .join('&');
}
