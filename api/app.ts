// The Fastify app factory, after Fastify's demo app: the server's options, error handling,
// metrics, the app-wide plugins (api/plugins/), the routes (api/routes/) and the warm-up.
// `buildApp` does not listen; api/main.ts does, and tests `inject` or listen on port 0.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { configured, type Config } from '../config';
import { createDataConverter } from '../worker/codec';
import { TokenVerifier, type AuthOptions } from './auth';
import { frameworkErrors, registerErrorHandling } from './errors';
import { loggerOptions, requestId } from './logging';
import { registerMetrics } from './metrics';
import { authentication } from './plugins/auth';
import { openapi } from './plugins/openapi';
import { security } from './plugins/security';
import { warmUp } from './plugins/warm-up';
import { routes } from './routes';
import { NonInteractiveUserService, type ServiceOptions } from './service';
import { UserLifecycleService } from './lifecycle-service';
import { AuditService, type AuditServiceOptions } from './audit';
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
  audit?: AuditServiceOptions;
  /** Largest accepted request body (default 16 KiB: a request is a few hundred bytes). */
  bodyLimit?: number;
  /** Once listening, fetch the token keys and connect to Temporal (api/plugins/warm-up.ts). */
  warmUp?: boolean;
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config } = options;
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
    new TokenVerifier({
      openIdConfigUrl: configured(config.api.openIdConfigUrl, 'AUTH_OPENID_CONFIG_URL'),
      audience: configured(config.api.audience, 'AUTH_AUDIENCE'),
      clientId: config.api.clientId ?? undefined,
      ...options.auth,
    });

  const app = Fastify({
    ...(options.logger
      ? { loggerInstance: options.logger }
      : { logger: { ...loggerOptions(config.logLevel), ...(options.logStream ? { stream: options.logStream } : {}) } }),
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    trustProxy: trustProxyOption(config.api.trustProxy),
    genReqId: requestId,
    ajv: {
      // Unknown fields are refused, not silently dropped (Fastify's default); every problem is reported.
      customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array', useDefaults: true },
    },
    // Ids are up to 300 characters (schemas.ts IdParams), more once percent-encoded; the router's
    // default (100) turned long but valid ids into 414s. Longer ones are still refused there.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON bodies only: Fastify's built-in text/plain parser handed such a body to the JSON schemas
  // as a string (a 400); without it, any type but application/json is a 415 (api/errors.ts).
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerErrorHandling(app);
  const audit = new AuditService(config, temporal, options.audit);
  const metrics = registerMetrics(app, { audits: () => audit.latestOfAll() });
  const service = new NonInteractiveUserService(config, temporal, {
    ...options.service,
    onStatusDocument: metrics.statusDocument,
  });

  // In this order: authentication uses the rate limit's store, and the OpenAPI document sees
  // only the routes registered after it.
  await app.register(security, config.api);
  await app.register(authentication, { verifier, failuresPerMinute: config.api.authFailuresPerMinute });
  await app.register(openapi, config.api);
  const lifecycle = new UserLifecycleService(config, temporal, { workflowTiming: options.service?.workflowTiming });
  await app.register(routes, { config, service, lifecycle, audit, temporal, verifier });

  if (!options.temporal) app.addHook('onClose', async () => temporal.close());
  if (options.warmUp) await app.register(warmUp, { verifier, temporal, timeoutMs: config.temporal.connectTimeoutMs });
  return app;
}

/** A hop count trusts that many proxies in front, as proxy-addr reads a number (Fastify's types take none). */
function trustProxyOption(
  trust: Config['api']['trustProxy'],
): boolean | string[] | ((address: string, hop: number) => boolean) {
  return typeof trust === 'number' ? (_address, hop) => hop < trust : trust;
}
