// Once the API listens, fetch the token keys and connect to Temporal in the background: otherwise
// the first calls of a new process wait for both (about 0.4 s measured). api/main.ts asks for it.
import type { TokenVerifier } from '../auth';
import type { TemporalGateway } from '../temporal';
import { appWide } from './app-wide';

export interface WarmUpOptions {
  verifier: TokenVerifier;
  temporal: TemporalGateway;
  /** Bound on the connection to Temporal. */
  timeoutMs: number;
}

export const warmUp = appWide<WarmUpOptions>('warm-up', async (app, { verifier, temporal, timeoutMs }) => {
  app.addHook('onListen', async () => {
    const started = performance.now();
    // Not awaited: the API serves at once, and a failure here is the first call's to retry.
    void Promise.allSettled([verifier.warmUp(), temporal.ping(timeoutMs)]).then(([keys, server]) =>
      app.log.info(
        {
          keys: keys.status === 'fulfilled' ? 'fetched' : `not fetched: ${String(keys.reason)}`,
          temporal: server.status === 'fulfilled' ? 'connected' : 'not reachable yet',
          ms: Math.round(performance.now() - started),
        },
        'warm-up done',
      ),
    );
  });
});
