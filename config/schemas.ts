// The values with rules of their own: API_TRUST_PROXY (Fastify's trustProxy), CODEC_TRUSTED_ORIGINS
// (loopback origins only) and WORKFLOW_TIMING (known ProvisionTiming fields, non-negative).
import { isIP } from 'node:net';
import type { ProvisionTiming } from '../workflows/types';
import { FALSE, splitList, type JsonCheck, type Kind } from './declare';
import { refuse } from './errors';
import { isObject, number, objectProblem, optional, type Field, type FieldValues } from './fields';

/** A proxy address, a CIDR range, or one of proxy-addr's names for a family of ranges. */
function isProxyEntry(entry: string): boolean {
  if (/^(loopback|linklocal|uniquelocal)$/.test(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

const TRUST_PROXY = 'true, a hop count, or proxy addresses or CIDR ranges';

/** Fastify's `trustProxy`: believe any proxy, a number of hops, or the listed proxies. */
export const TrustProxy: Kind<boolean | number | string[]> = {
  expected: TRUST_PROXY,
  parse(raw) {
    const t = raw.trim();
    if (t === '' || FALSE.test(t)) return false;
    // "1" is a hop count here, not true: true would believe every proxy in front.
    if (/^(true|yes|on)$/i.test(t)) return true;
    if (/^\d+$/.test(t)) return Number(t);
    const entries = splitList(t);
    const bad = entries.filter((e) => !isProxyEntry(e));
    if (bad.length) refuse(`must be ${TRUST_PROXY}, got ${bad.map((e) => `"${e}"`).join(', ')}`);
    return entries;
  },
};

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function originProblem(origin: string): string | undefined {
  if (!URL.canParse(origin)) return `holds "${origin}", which is not an origin`;
  const parsed = new URL(origin);
  if (!/^https?:$/.test(parsed.protocol) || parsed.origin !== origin.replace(/\/+$/, '')) {
    return `holds "${origin}", which is not an http(s) origin`;
  }
  // Trust without a token is for a UI on the same machine only; anything else must use tokens.
  if (!LOOPBACK_HOSTS.has(parsed.hostname)) return `may hold loopback origins only, got "${origin}"`;
  return undefined;
}

/** Browser origins on a loopback address, kept as URL origins (no trailing slash). */
export const LoopbackOrigins: Kind<string[]> = {
  expected: 'comma-separated loopback http(s) origins',
  parse(text) {
    const origins = splitList(text);
    const problem = origins.map(originProblem).find(Boolean);
    if (problem) refuse(problem);
    return origins.map((o) => new URL(o).origin);
  },
};

// A record over every key of ProvisionTiming: a field added there must be added here.
const timingField = optional(number('a non-negative number', { minimum: 0 }));
const timingFields: Record<keyof ProvisionTiming, Field<number, true>> = {
  syncTimeoutMs: timingField,
  syncPollInitialMs: timingField,
  syncPollMaxMs: timingField,
  forceSyncWindowMs: timingField,
  forceSyncIntervalMs: timingField,
  verifySettleMs: timingField,
  verifyMaxReapply: timingField,
  retryMaxIntervalMs: timingField,
  stepRetryWindowMs: timingField,
};

/** Some of ProvisionTiming's fields, no other. */
export const WorkflowTiming: JsonCheck<FieldValues<typeof timingFields>> = {
  expected: 'a JSON object',
  check(doc) {
    if (!isObject(doc)) return undefined;
    const problem = objectProblem(timingFields, doc, true);
    return problem === undefined ? (doc as FieldValues<typeof timingFields>) : refuse(problem);
  },
};
