// Fault injection (PUT/DELETE /_sandbox/faults) and the request log (GET /_sandbox/requests).
// A fault answers a matching request with an error (each service's own throttling and outage
// bodies, `Retry-After` when asked), adds latency, or — with `after: true` — lets the request
// take effect and then answers with the error, as when a response is lost on the way back.
import { randomUUID } from 'node:crypto';
import type { Reply } from './http';
import { json } from './http';
import type { Fault, RequestLogEntry, ServiceName } from './types';

const SERVICES = ['entra', 'graph', 'dataverse', 'powerplatform', 'keyvault'] as const;
const LOG_LIMIT = 10_000;

interface ActiveFault {
  fault: Fault;
  regex: RegExp | null;
  remaining: number;
  hits: number;
}

export class FaultError extends Error {}

/** Checks one fault definition; throws FaultError with a message naming the field. */
export function validateFault(value: unknown, index: number): Fault {
  const at = `faults[${index}]`;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new FaultError(`${at} must be an object`);
  const f = value as Record<string, unknown>;
  const known = ['service', 'method', 'path', 'status', 'rate', 'count', 'retryAfterSeconds', 'delayMs', 'after'];
  for (const key of Object.keys(f)) if (!known.includes(key)) throw new FaultError(`${at}.${key} is not a fault field`);
  if (!SERVICES.includes(f.service as (typeof SERVICES)[number])) {
    throw new FaultError(`${at}.service must be one of ${SERVICES.join(', ')}`);
  }
  if (f.method !== undefined && (typeof f.method !== 'string' || !/^[A-Za-z]+$/.test(f.method))) {
    throw new FaultError(`${at}.method must be an HTTP method`);
  }
  if (f.path !== undefined) {
    if (typeof f.path !== 'string') throw new FaultError(`${at}.path must be a regular expression string`);
    try {
      new RegExp(f.path);
    } catch (err) {
      throw new FaultError(`${at}.path is not a valid regular expression: ${(err as Error).message}`);
    }
  }
  const int = (key: string, min: number, max: number) => {
    const v = f[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)) {
      throw new FaultError(`${at}.${key} must be a whole number between ${min} and ${max}`);
    }
  };
  int('status', 100, 599);
  int('count', 0, Number.MAX_SAFE_INTEGER);
  int('retryAfterSeconds', 0, 86_400);
  int('delayMs', 0, 600_000);
  if (f.rate !== undefined && (typeof f.rate !== 'number' || f.rate < 0 || f.rate > 1)) {
    throw new FaultError(`${at}.rate must be a number between 0 and 1`);
  }
  if (f.after !== undefined && typeof f.after !== 'boolean') throw new FaultError(`${at}.after must be true or false`);
  if (f.status === undefined && f.delayMs === undefined) throw new FaultError(`${at} needs a status or a delayMs`);
  if (f.after === true && f.status === undefined) throw new FaultError(`${at}.after needs a status`);
  return f as unknown as Fault;
}

export class FaultInjector {
  private active: ActiveFault[] = [];

  set(faults: Fault[]): void {
    this.active = faults.map((fault) => ({
      fault,
      regex: fault.path !== undefined ? new RegExp(fault.path) : null,
      remaining: fault.count ?? Infinity,
      hits: 0,
    }));
  }

  clear(): void {
    this.active = [];
  }

  list(): (Fault & { hits: number; remaining: number | null })[] {
    return this.active.map((a) => ({
      ...a.fault,
      hits: a.hits,
      remaining: a.remaining === Infinity ? null : a.remaining,
    }));
  }

  /** The first fault that matches and fires for this request (consuming one of its `count`). */
  pick(service: ServiceName, method: string, target: string): { fault: Fault; index: number } | null {
    for (const [index, a] of this.active.entries()) {
      const f = a.fault;
      if (f.service !== service || a.remaining <= 0) continue;
      if (f.method && f.method.toUpperCase() !== method) continue;
      if (a.regex && !a.regex.test(target)) continue;
      if (Math.random() >= (f.rate ?? 1)) continue;
      a.remaining -= 1;
      a.hits += 1;
      return { fault: f, index };
    }
    return null;
  }
}

/** The error reply a service sends for `status` (throttling and outage bodies as the real ones). */
export function faultReply(service: ServiceName, fault: Fault): Reply {
  const status = fault.status ?? 500;
  const headers: Record<string, string> = {};
  const retryAfter = fault.retryAfterSeconds ?? (status === 429 ? 1 : undefined);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  const throttled = status === 429;
  const requestId = randomUUID();
  switch (service) {
    case 'graph':
      headers['request-id'] = requestId;
      return json(
        status,
        {
          error: {
            code: throttled ? 'TooManyRequests' : status >= 500 ? 'serviceNotAvailable' : 'BadRequest',
            message: throttled
              ? 'Too many requests. Please retry after the time specified in the Retry-After header.'
              : status >= 500
                ? 'The service is temporarily unavailable. Please retry later.'
                : 'The request failed (injected by the sandbox).',
            innerError: {
              date: new Date().toISOString().replace(/\.\d{3}Z$/, ''),
              'request-id': requestId,
              'client-request-id': requestId,
            },
          },
        },
        headers,
      );
    case 'dataverse':
      return json(
        status,
        {
          error: {
            code: throttled ? '0x80072322' : status >= 500 ? '0x80040216' : '0x80040265',
            message: throttled
              ? 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.'
              : status >= 500
                ? 'An unexpected error occurred. The service is temporarily unavailable.'
                : 'The request failed (injected by the sandbox).',
          },
        },
        headers,
      );
    case 'entra':
      return json(
        status,
        {
          error: throttled ? 'temporarily_unavailable' : status >= 500 ? 'temporarily_unavailable' : 'invalid_request',
          error_description: throttled
            ? 'AADSTS50196: The server terminated an operation because it encountered a client request loop.'
            : 'AADSTS90033: A transient error has occurred. Please try again.',
          error_codes: [throttled ? 50196 : 90033],
          timestamp: new Date().toISOString(),
          trace_id: requestId,
          correlation_id: randomUUID(),
        },
        headers,
      );
    default:
      return json(
        status,
        {
          error: {
            code: throttled ? 'TooManyRequests' : status >= 500 ? 'ServiceUnavailable' : 'BadRequest',
            message: throttled
              ? 'Rate limit is exceeded. Try again later.'
              : status >= 500
                ? 'The service is temporarily unavailable.'
                : 'The request failed (injected by the sandbox).',
          },
        },
        headers,
      );
  }
}

export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private seq = 0;

  add(entry: Omit<RequestLogEntry, 'seq'>): RequestLogEntry {
    const full = { seq: ++this.seq, ...entry };
    this.entries.push(full);
    if (this.entries.length > LOG_LIMIT) this.entries.splice(0, this.entries.length - LOG_LIMIT);
    return full;
  }

  clear(): void {
    this.entries = [];
  }

  query(filter: { service?: string; method?: string; path?: RegExp; since?: number }): RequestLogEntry[] {
    return this.entries.filter(
      (e) =>
        (!filter.service || e.service === filter.service) &&
        (!filter.method || e.method === filter.method.toUpperCase()) &&
        (!filter.path || filter.path.test(e.path)) &&
        (filter.since === undefined || e.seq > filter.since),
    );
  }
}
