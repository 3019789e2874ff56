// The Fastify app factory: plugins (security headers, CORS, rate limit, OpenAPI, Swagger UI),
// the error handling, authentication per route, and the routes. `buildApp` does not listen;
// api/main.ts does, and tests either `inject` or listen on port 0.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from '../config';
import { createDataConverter } from '../worker/codec';
import { authenticate, TokenVerifier, type AuthOptions } from './auth';
import { registerErrorHandling } from './errors';
import { loggerOptions } from './logging';
import { registerMetrics } from './metrics';
import { buildProblem, HttpProblem, sendProblem } from './problem';
import { healthRoutes } from './routes/health';
import { codecRoutes } from './routes/codec';
import { environmentRoutes } from './routes/environments';
import { nonInteractiveUserRoutes } from './routes/non-interactive-users';
import { NonInteractiveUserService, type ServiceOptions } from './service';
import { TemporalGateway } from './temporal';

export interface BuildAppOptions {
  config: Config;
  /** Defaults to a gateway built from config.temporal. The app closes only a gateway it built. */
  temporal?: TemporalGateway;
  /** A ready pino logger; default: JSON logs at config.logLevel with the API's redaction and serializers. */
  logger?: FastifyServerOptions['loggerInstance'];
  /** Where the default logger writes (default stdout); tests capture the lines here. */
  logStream?: NodeJS.WritableStream;
  /** Token verification; default: the OpenID provider at config.api.openIdConfigUrl. */
  verifier?: TokenVerifier;
  /** Tuning of the default verifier (clock tolerance, JWKS cooldown). */
  auth?: Partial<AuthOptions>;
  service?: ServiceOptions;
  /** Largest accepted request body (default 16 KiB: a request is a few hundred bytes). */
  bodyLimit?: number;
  /**
   * Once listening, connect to Temporal and fetch the token keys in the background (api/main.ts
   * sets it): otherwise the first calls of a new process wait for both (about 0.4 s measured).
   */
  warmUp?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
  const ownTemporal = !options.temporal;
  const temporal =
    options.temporal ??
    new TemporalGateway({
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      connectTimeoutMs: config.temporal.connectTimeoutMs,
      dataConverter: createDataConverter(config),
    });
  const verifier =
    options.verifier ??
    new TokenVerifier({ openIdConfigUrl: config.api.openIdConfigUrl, audience: config.api.audience, ...options.auth });

  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: { ...loggerOptions(config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) } }),
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    trustProxy: trustProxyOption(config.api.trustProxy),
    // A caller's x-request-id is kept when it is a sane token, so ids can be followed across
    // services; otherwise a fresh UUID. Either way it is in every log line and problem body.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: {
      // Reject unknown fields instead of silently dropping them (Fastify's default removes them),
      // and report every problem at once.
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true },
    },
    // Ids are up to 300 characters (schemas.ts IdParams), more once percent-encoded; the router's
    // default (100) turned long but valid ids into 414s. Longer ones are still refused there.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    // The router's own refusals (malformed percent-encoding, over-long parameter) answer in
    // problem+json like every other error, and never echo the URL back.
    frameworkErrors: (error, request, reply) => {
      const status = (error as { statusCode?: number }).statusCode === 414 ? 414 : 400;
      return sendProblem(
        reply,
        buildProblem(
          request,
          status,
          status === 414 ? 'uri-too-long' : 'invalid-request',
          status === 414
            ? 'A path parameter is too long.'
            : 'The request URL is not valid (malformed percent-encoding).',
        ),
      );
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  registerErrorHandling(app);
  const metrics = registerMetrics(app);
  const service = new NonInteractiveUserService(config, temporal, {
    ...options.service,
    onStatusDocument: metrics.statusDocument,
  });

  await app.register(helmet, {
    // Swagger UI sets its own CSP (staticCSP below); for JSON answers a strict default is fine.
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
              origin: config.api.corsOrigins,
              methods: ['POST'],
              allowedHeaders: ['authorization', 'content-type', 'x-namespace'],
              exposedHeaders: ['x-request-id'],
              credentials: true,
              maxAge: 600,
            }
          : { origin: false },
      ),
  });

  // The rate limit runs after authentication (preHandler), keyed by the verified client id, else
  // by address.
  await app.register(rateLimit, {
    max: config.api.rateLimitPerMinute,
    timeWindow: 60_000,
    hook: 'preHandler',
    keyGenerator: (request) => (request.principal ? `client:${request.principal.clientId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new HttpProblem(429, 'rate-limited', `Rate limit of ${context.max} requests per minute exceeded; retry later.`, {
        headers: { 'retry-after': String(Math.max(1, Math.ceil(context.ttl / 1000))) },
      }),
  });
  // Authentication runs in onRequest for routes that declare an access level. A failed one (401)
  // never reaches the limit above, which needs a verified client: failures are counted per
  // address on their own, and an address past its budget is refused before its token is looked
  // at, so a flood of bad tokens costs no signature checks (@fastify/rate-limit's documented
  // pattern for failed logins: peek, and count only the failures).
  const authFailures = app.createRateLimit({
    max: config.api.authFailuresPerMinute,
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

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Non-interactive users API',
        version: '1.0.0',
        description:
          'Provisions Dynamics 365 (Dataverse) non-interactive users as durable Temporal workflows. ' +
          'Every /v1 route needs a bearer token for the audience `' +
          config.api.audience +
          '` with the application role NonInteractiveUsers.Read (reads) or NonInteractiveUsers.ReadWrite (writes). ' +
          'Errors are application/problem+json (RFC 9457).',
      },
      servers: [{ url: config.api.publicUrl }],
      tags: [
        { name: 'non-interactive-users', description: 'Provisioning requests' },
        { name: 'environments', description: 'Configured Dataverse environments' },
        { name: 'health', description: 'Liveness and readiness' },
        { name: 'codec', description: 'Temporal UI codec endpoint (payload decryption)' },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: `OAuth 2.0 client-credentials token for ${config.api.audience}/.default`,
          },
        },
      },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // The plugin's strict CSP with hashes for its own scripts; Swagger UI's React views also set
    // inline style attributes, so styles (only) may be inline. No call-out to the online validator.
    staticCSP: true,
    transformStaticCSP: (header) =>
      header.replace("style-src 'self' https:", "style-src 'self' https: 'unsafe-inline'"),
    uiConfig: { deepLinking: true, validatorUrl: null, persistAuthorization: false },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { temporal });
  if (config.codec) await app.register(codecRoutes, { codec: config.codec, verifier });
  await app.register(
    async (v1) => {
      await v1.register(nonInteractiveUserRoutes, { service });
      await v1.register(environmentRoutes, {
        service,
        environments: config.environments,
        publicUrl: config.api.publicUrl,
      });
    },
    { prefix: '/v1' },
  );

  if (ownTemporal) app.addHook('onClose', async () => temporal.close());
  if (options.warmUp) {
    app.addHook('onListen', async () => {
      const started = performance.now();
      // Not awaited: the API serves at once, and a failure here is the first call's to retry.
      void Promise.allSettled([verifier.warmUp(), temporal.ping(config.temporal.connectTimeoutMs)]).then(
        ([keys, server]) =>
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
  }
  return app;
}

/** A hop count trusts that many proxies in front, as proxy-addr reads a number (Fastify's types take none). */
function trustProxyOption(
  trust: Config['api']['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}
