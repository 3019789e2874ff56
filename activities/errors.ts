// One place that turns HTTP answers from Microsoft (or the sandbox) into Temporal failures.
//
// Who retries: Temporal, and only Temporal. The Graph client's RetryHandler is left out of the
// middleware chain (activities/graph.ts), Dataverse and the admin API go through a plain fetch
// layer without retries, and @azure/identity's own token retries stay (they only cover the token
// endpoint). So a throttled call fails the activity attempt at once, and the activity's retry
// policy decides when to try again: `Retry-After` becomes the failure's `nextRetryDelay`, which
// the server uses instead of the policy's back-off for that one retry. Every attempt shows up in
// the workflow history and the request log, nothing is multiplied invisibly.
import { ApplicationFailure } from '@temporalio/common';
import type { FailureType } from '../workflows/types';

export type Service = 'graph' | 'dataverse' | 'powerplatform' | 'keyvault' | 'entra';

/** What we know of an HTTP answer that was not a success. */
export interface HttpProblem {
  service: Service;
  status: number;
  /** Service error code (Graph `error.code`, details code, Dataverse `error.code`). */
  code?: string | null;
  message: string;
  /** Raw Retry-After header (seconds or an HTTP date). */
  retryAfter?: string | null;
  /** All codes found in the body (Graph puts ObjectConflict in `details`). */
  detailCodes?: string[];
}

/**
 * The code and message of an error answer's body, in either shape the services use: Graph's,
 * Dataverse's and the admin API's usual `{"error": {"code", "message"}}`, or the list the admin
 * API's `addUser` answers with, `{"errors": [{"Subject", "Description", "Code"}, ...]}` (as the
 * Power Platform for Admins connector returned it for `userNotPartOfSecurityGroup`, in
 * microsoft/coe-starter-kit issues 9270 and 10191). `codes` has every code the body carries.
 */
export function errorOfBody(body: unknown): { code: string | null; message: string | null; codes: string[] } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as {
    error?: { code?: unknown; message?: unknown; details?: { code?: unknown }[] };
    errors?: { Code?: unknown; Description?: unknown }[];
  };
  const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  if (b.error && typeof b.error === 'object') {
    const code = text(b.error.code);
    const details = Array.isArray(b.error.details) ? b.error.details.map((d) => text(d?.code)) : [];
    return { code, message: text(b.error.message), codes: [code, ...details].filter((c): c is string => c !== null) };
  }
  if (Array.isArray(b.errors)) {
    const entries = b.errors.map((e) => ({ code: text(e?.Code), message: text(e?.Description) }));
    const first = entries.find((e) => e.code !== null) ?? entries.find((e) => e.message !== null);
    const codes = entries.map((e) => e.code).filter((c): c is string => c !== null);
    return { code: first?.code ?? null, message: first?.message ?? null, codes };
  }
  return { code: null, message: null, codes: [] };
}

/** Whether a failure raised by httpFailure carries the service's error `code` (in any entry of its body). */
export function hasErrorCode(err: unknown, code: string): boolean {
  if (!(err instanceof ApplicationFailure)) return false;
  const details = err.details?.[0] as { codes?: string[] } | undefined;
  return (details?.codes ?? []).some((c) => c.toLowerCase() === code.toLowerCase());
}

/** Parses Retry-After (delta seconds or HTTP date) into milliseconds, capped at 10 minutes. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(ms, 0), 10 * 60_000);
}

/** Decides the stable failure type of an HTTP answer. */
export function classify(p: HttpProblem): { type: FailureType | string; retryable: boolean } {
  const text = `${p.code ?? ''} ${(p.detailCodes ?? []).join(' ')} ${p.message}`;
  if (p.status === 429) return { type: 'throttled', retryable: true };
  // BAP's refusal of an application that is not a registered management application (matched as
  // Microsoft's Terraform provider matches it, internal/api/client.go): a setup step is missing.
  if (p.service === 'powerplatform' && p.status === 403 && /does not have permission to access the path/i.test(text)) {
    return { type: 'management-app-not-registered', retryable: false };
  }
  if (p.status === 408 || p.status >= 500) return { type: 'service-unavailable', retryable: true };
  if (/ObjectConflict|same value for property userPrincipalName/i.test(text)) {
    return { type: 'upn-conflict', retryable: false };
  }
  if (/usage ?location/i.test(text)) return { type: 'invalid-usage-location', retryable: false };
  if (/does not have any available licenses|no (free|available) (seats|licenses)/i.test(text)) {
    return { type: 'license-unavailable', retryable: false };
  }
  if (/maximum number of non-interactive users/i.test(text)) return { type: 'capacity-exhausted', retryable: false };
  if (p.status === 401 || p.status === 403) return { type: 'permission-denied', retryable: false };
  // A newly created object can be briefly invisible to the next call (replication): retry.
  if (p.status === 404) return { type: 'not-found', retryable: true };
  if (p.status === 409 || p.status === 412) return { type: 'conflict', retryable: true };
  return { type: 'invalid-request', retryable: false };
}

/** The registration of `app` as a Power Platform management application, as a person does it. */
export function managementAppFix(app: string): string {
  return (
    `A Power Platform administrator registers it once per tenant: pac admin application register --application-id ${app}, ` +
    `or PUT /providers/Microsoft.BusinessAppPlatform/adminApplications/${app}?api-version=2020-10-01 on the admin API ` +
    `(docs/real-tenant.md)`
  );
}

/** What a person must do about a failure only they can fix, for its message. */
function fixFor(type: string, p: HttpProblem): string | null {
  if (type !== 'management-app-not-registered') return null;
  const app = /for application (\S+) does not have/i.exec(p.message)?.[1] ?? '<client id>';
  return (
    `the worker's application ${app} is not registered as a Power Platform management application. ` +
    `${managementAppFix(app)}; then submit the request again`
  );
}

/** Builds the ApplicationFailure for an HTTP answer (thrown from activities). */
export function httpFailure(p: HttpProblem): ApplicationFailure {
  const { type, retryable } = classify(p);
  const delay = retryable ? retryAfterMs(p.retryAfter) : undefined;
  const answer = `${p.service} ${p.status}${p.code ? ` ${p.code}` : ''}: ${p.message}`;
  const fix = fixFor(type, p);
  const codes = [...new Set([p.code, ...(p.detailCodes ?? [])].filter((c): c is string => !!c))];
  return ApplicationFailure.create({
    type,
    message: fix ? `${fix} (${answer})` : answer,
    nonRetryable: !retryable,
    details: [{ service: p.service, status: p.status, code: p.code ?? null, codes }],
    ...(delay !== undefined ? { nextRetryDelay: delay } : {}),
  });
}

/**
 * Of the failures of calls made side by side, the one to throw: a non-retryable one first, then
 * the one told to wait longest (Retry-After). Throwing whichever failed first (Promise.all) let a
 * 503's one-second retry repeat a call that had been throttled for two (the fault suite).
 */
function longestWait(errors: unknown[]): unknown {
  const wait = (e: unknown): number =>
    e instanceof ApplicationFailure
      ? e.nonRetryable
        ? Infinity
        : typeof e.nextRetryDelay === 'number'
          ? e.nextRetryDelay
          : 0
      : 0;
  return errors.reduce((worst, e) => (wait(e) > wait(worst) ? e : worst));
}

/** Values of settled calls, or the failure to throw (longestWait) if any failed. */
export function valuesOrLongestWait<T extends readonly PromiseSettledResult<unknown>[]>(
  settled: T,
): { [K in keyof T]: T[K] extends PromiseSettledResult<infer V> ? V : never } {
  const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (errors.length > 0) throw longestWait(errors);
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as never;
}

/** A failure the activity decided on itself (not from an HTTP answer). */
export function failure(type: FailureType | string, message: string, retryable = false): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: !retryable });
}

/** Reads the HTTP status, code and Retry-After out of an error thrown by the Graph client. */
export function fromGraphError(err: unknown): ApplicationFailure | undefined {
  const e = err as {
    statusCode?: number;
    code?: string | null;
    message?: string;
    headers?: { get(name: string): string | null };
    body?: unknown;
  };
  if (typeof e?.statusCode !== 'number' || e.statusCode <= 0) return undefined;
  let body: unknown;
  try {
    body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
  } catch {
    body = undefined;
  }
  // GraphError.body is the JSON of the answer's `error` member, not of the whole answer.
  const unwrapped = typeof body === 'object' && body !== null && !('error' in body) && !('errors' in body);
  const parsed = errorOfBody(unwrapped ? { error: body } : body);
  return httpFailure({
    service: 'graph',
    status: e.statusCode,
    code: e.code ?? parsed.code,
    message: e.message || parsed.message || 'request failed',
    retryAfter: e.headers?.get?.('retry-after') ?? null,
    detailCodes: parsed.codes,
  });
}
