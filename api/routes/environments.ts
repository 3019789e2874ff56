// /v1/environments: what is configured (no secrets), and per environment its live capacity and
// its readiness (the prerequisites checked live on a worker, as `npm run doctor` checks them).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AUTH_ERRORS, Capacity, EnvironmentList, EnvironmentParams, responses } from '../schemas';
import type { NonInteractiveUserService } from '../service';
import type { EnvironmentConfig } from '../../config';

const TAG = 'environments';
const security = [{ bearerAuth: [] }];

/** One prerequisite as activities/preflight.ts checked it (its PreflightCheck, without the environment). */
const ReadinessCheck = Type.Object({
  name: Type.String({
    description: 'Stable name of the check (docs/real-tenant.md lists them).',
    examples: ['graph-permission-users'],
  }),
  ok: Type.Boolean(),
  detail: Type.String({ description: 'What was found; never a secret or a token.' }),
  fix: Type.Union([Type.String(), Type.Null()], {
    description: 'The concrete action that makes the check pass (what to grant, where); null when it passes.',
  }),
});
const Readiness = Type.Object({
  ready: Type.Boolean({ description: 'Every check passed.' }),
  checks: Type.Array(ReadinessCheck, {
    description:
      "The tenant-wide checks (tokens, Graph permissions, directory role, management application, Key Vault), then the environment's.",
  }),
});

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
      items: environments.map((e) => {
        const base = `${publicUrl}/v1/environments/${encodeURIComponent(e.name)}`;
        return {
          // Picked field by field, so a secret added to the configuration later cannot leak here.
          name: e.name,
          dataverseUrl: e.dataverseUrl,
          powerPlatformEnvironmentId: e.powerPlatformEnvironmentId,
          securityGroupId: e.securityGroupId,
          passwordExpires: e.passwordExpires,
          auditRepair: e.auditRepair,
          licenseSku: e.licenseSku,
          usageLocation: e.usageLocation,
          allowedUpnDomains: e.allowedUpnDomains,
          defaultSecurityRoles: e.defaultSecurityRoles,
          businessUnit: e.businessUnit,
          nonInteractiveLimit: e.nonInteractiveLimit,
          links: {
            capacity: `${base}/capacity`,
            readiness: `${base}/readiness`,
            inventory: `${base}/non-interactive-users`,
            audit: `${base}/audit`,
          },
        };
      }),
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

  app.get(
    '/environments/:environment/readiness',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getEnvironmentReadiness',
        summary: 'Prerequisites, checked live',
        description:
          "Each prerequisite of provisioning in this environment checked live with the worker's identity, on a worker: " +
          'the same checks as `npm run doctor` (tokens, Graph permissions, directory role, management application, ' +
          'the environment in the admin API, its security group, the Dataverse application user and its role, the ' +
          'limit, Key Vault). A failed check names its fix. 503 when no worker answers in time.',
        tags: [TAG],
        security,
        params: EnvironmentParams,
        response: responses({ 200: { description: 'The checks and their outcome.', schema: Readiness } }, [
          400,
          ...AUTH_ERRORS,
          404,
        ]),
      },
    },
    async (request) => {
      const report = await service.readiness(request.params.environment);
      return {
        ready: report.ready,
        checks: report.checks.map(({ name, ok, detail, fix }) => ({ name, ok, detail, fix })),
      };
    },
  );
};
