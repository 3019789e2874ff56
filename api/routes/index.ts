// Every route: health, the Temporal UI codec endpoints (when CODEC_KEYS is set), and /v1. Each
// file registers its routes with their TypeBox schemas (api/schemas.ts), which validate the
// requests and make the OpenAPI document.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Config } from '../../config';
import type { TokenVerifier } from '../auth';
import type { NonInteractiveUserService } from '../service';
import type { UserLifecycleService } from '../lifecycle-service';
import type { TemporalGateway } from '../temporal';
import type { AuditService } from '../audit';
import { auditRoutes } from './audit';
import { codecRoutes } from './codec';
import { environmentRoutes } from './environments';
import { healthRoutes } from './health';
import { nonInteractiveUserRoutes } from './non-interactive-users';
import { userLifecycleRoutes } from './user-lifecycle';

export interface RouteOptions {
  config: Config;
  service: NonInteractiveUserService;
  lifecycle: UserLifecycleService;
  audit: AuditService;
  temporal: TemporalGateway;
  /** For the codec routes, which authenticate in their own way (api/routes/codec.ts). */
  verifier: TokenVerifier;
}

export const routes: FastifyPluginAsyncTypebox<RouteOptions> = async (
  app,
  { config, service, lifecycle, audit, temporal, verifier },
) => {
  await app.register(healthRoutes, { temporal });
  if (config.codec) await app.register(codecRoutes, { codec: config.codec, verifier });
  await app.register(
    async (v1) => {
      await v1.register(nonInteractiveUserRoutes, { service });
      await v1.register(userLifecycleRoutes, { service, lifecycle });
      await v1.register(environmentRoutes, {
        service,
        environments: config.environments,
        publicUrl: config.api.publicUrl,
      });
      await v1.register(auditRoutes, { audit, publicUrl: config.api.publicUrl });
    },
    { prefix: '/v1' },
  );
};
