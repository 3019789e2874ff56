// Reading until something holds, and sampling the sandbox while a test runs: shared by the
// tests that wait on a server's eventual state (schedules listed from visibility) and those that
// check an environment's limit is never exceeded at any moment, not only at the end.
import type { SandboxControl } from './sandbox';

/** Reads until `done` holds, or the deadline passes: then the last value, for the caller's assertion to fail on. */
export async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
  intervalMs = 250,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > end) return value;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Samples the sandbox's count of non-interactive users in each environment (`intervalMs` apart)
 * until stopped; `stop()` returns the maximum seen per environment.
 */
export function watchNonInteractiveCounts<E extends string>(
  control: SandboxControl,
  environments: readonly E[],
  intervalMs = 25,
): { stop(): Promise<Record<E, number>> } {
  const max = Object.fromEntries(environments.map((e) => [e, 0])) as Record<E, number>;
  let running = true;
  const loop = (async () => {
    while (running) {
      const state = await control.state();
      for (const e of environments) max[e] = Math.max(max[e], state.environments[e]!.nonInteractiveUsers);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return max;
    },
  };
}
