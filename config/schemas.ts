// The values with rules of their own: API_TRUST_PROXY (Fastify's trustProxy), CODEC_TRUSTED_ORIGINS
// (loopback origins only) and WORKFLOW_TIMING (known ProvisionTiming fields, non-negative).
import { isIP } from 'node:net';
import { Type } from 'typebox';
import type { ProvisionTiming } from '../workflows/types';
import { FALSE, splitList } from './declare';

/** A proxy address, a CIDR range, or one of proxy-addr's names for a family of ranges. */
function isProxyEntry(entry: string): boolean {
  if (/^(loopback|linklocal|uniquelocal)$/.test(entry)) return true;
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

/** Fastify's `trustProxy`: believe any proxy, a number of hops, or the listed proxies. */
export const TrustProxy = Type.Union(
  [
    Type.Boolean(),
    Type.Integer({ minimum: 0 }),
    Type.Refine(
      Type.Array(Type.String()),
      (entries) => entries.every(isProxyEntry),
      (entries) =>
        `must be true, a hop count, or proxy addresses or CIDR ranges, got ${entries
          .filter((e) => !isProxyEntry(e))
          .map((e) => `"${e}"`)
          .join(', ')}`,
    ),
  ],
  { expected: 'true, a hop count, or proxy addresses or CIDR ranges' },
);

export function trustProxyFromText(raw: string): unknown {
  const t = raw.trim();
  if (t === '' || FALSE.test(t)) return false;
  // "1" is a hop count here, not true: true would believe every proxy in front.
  if (/^(true|yes|on)$/i.test(t)) return true;
  if (/^\d+$/.test(t)) return Number(t);
  return splitList(t);
}

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
export const LoopbackOrigins = Type.Decode(
  Type.Refine(
    Type.Array(Type.String(), { expected: 'comma-separated loopback http(s) origins' }),
    (origins) => origins.every((o) => originProblem(o) === undefined),
    (origins) => origins.map(originProblem).find(Boolean) ?? '',
  ),
  (origins) => origins.map((o) => new URL(o).origin),
);

// A record over every key of ProvisionTiming: a field added there must be added here.
const timingField = Type.Number({ minimum: 0, expected: 'a non-negative number' });
const timingFields: Record<keyof ProvisionTiming, typeof timingField> = {
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
export const WorkflowTiming = Type.Partial(Type.Object(timingFields), {
  additionalProperties: false,
  expected: 'a JSON object',
});
