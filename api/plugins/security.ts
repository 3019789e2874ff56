// Security headers, strict CORS and the per-client rate limit, for the whole app.
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../../config';
import { HttpProblem } from '../problem';
import { appWide } from './app-wide';

/** corsOrigins: the Temporal UI's, the only browser pages that may call the API (its codec routes). */
export type SecurityOptions = Pick<Config['api'], 'corsOrigins' | 'rateLimitPerMinute'>;

export const security = appWide<SecurityOptions>('security', async (app, { corsOrigins, rateLimitPerMinute }) => {
  await app.register(helmet, {
    // Swagger UI sets its own CSP (api/plugins/openapi.ts); for JSON answers a strict default is fine.
    contentSecurityPolicy: { directives: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'] } },
  });
  // Strict CORS: only the codec routes are meant for a browser on another origin (the Temporal
  // UI); every other route answers without CORS headers, so pages elsewhere cannot read it.
  await app.register(cors, {
    delegator: (request, callback) =>
      callback(
        null,
        (request.url ?? '').startsWith('/codec/')
          ? {
              origin: corsOrigins,
              methods: ['POST'],
              allowedHeaders: ['authorization', 'content-type', 'x-namespace'],
              exposedHeaders: ['x-request-id'],
              credentials: true,
              maxAge: 600,
            }
          : { origin: false },
      ),
  });
  // The rate limit runs after authentication (preHandler; api/plugins/auth.ts authenticates in
  // onRequest), keyed by the verified client id, else by address.
  await app.register(rateLimit, {
    max: rateLimitPerMinute,
    timeWindow: 60_000,
    hook: 'preHandler',
    keyGenerator: (request) => (request.principal ? `client:${request.principal.clientId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(429, 'rate-limited', `Rate limit of ${context.max} requests per minute exceeded; retry later.`, {
        headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      }),
  });
});
