// Default timings of the provisioning workflow. Requests may shorten them (tests do), never
// remove them: every wait has an upper bound.
import type { ProvisionTiming } from './types';

export const DEFAULT_TIMING: ProvisionTiming = {
  syncTimeoutMs: 24 * 60 * 60_000,
  syncPollInitialMs: 15_000,
  syncPollMaxMs: 10 * 60_000,
  // Microsoft's own Terraform provider retries addUser every 10 s for up to 9 minutes.
  forceSyncWindowMs: 9 * 60_000,
  forceSyncIntervalMs: 10_000,
  verifySettleMs: 60_000,
  verifyMaxReapply: 3,
  retryMaxIntervalMs: 60_000,
  // Throttling can last minutes; a step gives up only after this long (or on a non-retryable error).
  stepRetryWindowMs: 15 * 60_000,
};

export function resolveTiming(partial: Partial<ProvisionTiming> | undefined): ProvisionTiming {
  const t = { ...DEFAULT_TIMING };
  for (const key of Object.keys(t) as (keyof ProvisionTiming)[]) {
    const v = partial?.[key];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) t[key] = v;
  }
  return t;
}

/** Capped exponential back-off: initial, 2×initial, … up to max. */
export function backoff(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
}
