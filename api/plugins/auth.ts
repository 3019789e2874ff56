// Authentication for the routes that declare an access level (`config: { access }`), in
// onRequest, before the body is read: the bearer token is verified (api/auth.ts) and the route's
// role checked. A failed authentication (401) never reaches the per-client rate limit
// (api/plugins/security.ts), which needs a verified client: failures are counted per address on
// their own, and an address past its budget is refused before its token is looked at, so a flood
// of bad tokens costs no signature checks (@fastify/rate-limit's documented pattern for failed
// logins: peek, and count only the failures).
import { authenticate, type TokenVerifier } from '../auth';
import { HttpProblem } from '../problem';
import { appWide } from './app-wide';

export interface AuthenticationOptions {
  verifier: TokenVerifier;
  /** Failed authentications an address may make per minute. */
  failuresPerMinute: number;
}

export const authentication = appWide<AuthenticationOptions>(
  'authentication',
  async (app, { verifier, failuresPerMinute }) => {
    const authFailures = app.createRateLimit({
      max: failuresPerMinute,
      timeWindow: 60_000,
      keyGenerator: (request) => `auth-failures:${request.ip}`,
    });
    app.addHook('onRequest', async (request) => {
      const access = request.routeOptions.config?.access;
      if (!access) return;
      const failures = await authFailures(request, { increment: false });
      if (!failures.isAllowed && failures.remaining === 0) {
        throw new HttpProblem(
          429,
          'rate-limited',
          `More than ${failures.max} failed authentications from this address in a minute; retry later.`,
          { headers: { 'retry-after': String(Math.max(1, failures.ttlInSeconds)) } },
        );
      }
      try {
        await authenticate(verifier, request, access);
      } catch (err) {
        if (err instanceof HttpProblem && err.statusCode === 401) await authFailures(request);
        throw err;
      }
    });
  },
  // app.createRateLimit comes from it.
  ['@fastify/rate-limit'],
);
