// /v1/environments: what is configured (no secrets), and live capacity per environment.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AUTH_ERRORS, Capacity, EnvironmentList, EnvironmentParams, responses } from '../schemas';
import type { NonInteractiveUserService } from '../service';
import type { EnvironmentConfig } from '../../config';

const TAG = 'environments';
const security = [{ bearerAuth: [] }];

export const environmentRoutes: FastifyPluginAsyncTypebox<{
  service: NonInteractiveUserService;
  environments: EnvironmentConfig[];
  publicUrl: string;
}> = async (app, { service, environments, publicUrl }) => {
  app.get(
    '/environments',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'listEnvironments',
        summary: 'Configured environments',
        tags: [TAG],
        security,
        response: responses({ 200: { description: 'Environments (no secrets).', schema: EnvironmentList } }, [
          ...AUTH_ERRORS,
        ]),
      },
    },
    async () => ({
      items: environments.map((e) => ({
        // Picked field by field, so a secret added to the configuration later cannot leak here.
        name: e.name,
        dataverseUrl: e.dataverseUrl,
        powerPlatformEnvironmentId: e.powerPlatformEnvironmentId,
        securityGroupId: e.securityGroupId,
        passwordExpires: e.passwordExpires,
        licenseSku: e.licenseSku,
        usageLocation: e.usageLocation,
        allowedUpnDomains: e.allowedUpnDomains,
        defaultSecurityRoles: e.defaultSecurityRoles,
        businessUnit: e.businessUnit,
        nonInteractiveLimit: e.nonInteractiveLimit,
        links: { capacity: `${publicUrl}/v1/environments/${encodeURIComponent(e.name)}/capacity` },
      })),
    }),
  );

  app.get(
    '/environments/:environment/capacity',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getEnvironmentCapacity',
        summary: 'Non-interactive user capacity',
        description:
          '`limit` and `used` read live from Dataverse (through the worker), `reserved` from requests in flight; ' +
          '`available = max(0, limit - used - reserved)`.',
        tags: [TAG],
        security,
        params: EnvironmentParams,
        response: responses({ 200: { description: 'Capacity figures.', schema: Capacity } }, [
          400,
          ...AUTH_ERRORS,
          404,
        ]),
      },
    },
    async (request) => ({
      environment: request.params.environment,
      ...(await service.capacity(request.params.environment)),
    }),
  );
};
