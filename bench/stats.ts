// Small measurement helpers shared by the benchmarks.

/** The p-th percentile (0..100) of samples, nearest-rank (as HDR histograms report it). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** A number from the environment; `fallback` when unset, not a number, or not above zero (zero is taken with `zero`). */
export function envNumber(name: string, fallback: number, { zero = false } = {}): number {
  const raw = process.env[name];
  const v = Number(raw);
  if (raw === undefined || raw === '' || !Number.isFinite(v)) return fallback;
  return v > 0 || (zero && v === 0) ? v : fallback;
}

export const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `task(i)` for i in 0..count-1 with at most `concurrency` at once; results in order. */
export async function pool<T>(count: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

/** Calls `task` from `connections` loops for `durationMs`; returns each call's latency in ms. */
export async function closedLoop(
  connections: number,
  durationMs: number,
  task: (n: number) => Promise<void>,
): Promise<{ latencies: number[]; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const until = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        try {
          await task(n++);
          latencies.push(performance.now() - started);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { latencies, errors };
}

export const SKU = 'DYN365_ENTERPRISE_PLAN1';
export const DOMAIN = 'contoso.onmicrosoft.com';
