// /v1/environments/{environment}/non-interactive-users (the live inventory) and
// /v1/environments/{environment}/audit (the latest drift audit; POST runs one now). The finding
// kinds and the item fields are contracts (docs/api.md).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { FINDING_KINDS } from '../../workflows/audit-types';
import type { AuditService } from '../audit';
import { AUTH_ERRORS, EnvironmentParams, responses } from '../schemas';

const TAG = 'audit';
const security = [{ bearerAuth: [] }];
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T, description?: string) =>
  Type.Union([t, Type.Null()], description ? { description } : {});

const FindingKind = Type.Union(
  FINDING_KINDS.map((k) => Type.Literal(k)),
  { description: 'What the audit found (docs/api.md lists the kinds).' },
);

const InventoryItem = Type.Object({
  systemUserId: Type.String(),
  entraObjectId: Nullable(Type.String()),
  userPrincipalName: Type.String(),
  accessMode: Type.Integer({ description: 'Dataverse `accessmode` (4: non-interactive).' }),
  isDisabled: Type.Boolean({ description: 'Dataverse `isdisabled`.' }),
  licenses: Type.Array(Type.String(), { description: 'SKU part numbers of the licenses the Entra account holds.' }),
  managed: Type.Boolean({
    description: "This service's user: its account carries the service's mark and its provisioning request succeeded.",
  }),
  requestId: Nullable(Type.String(), 'The provisioning request that made it (null when unmanaged).'),
  findings: Type.Array(FindingKind),
  accountEnabled: Nullable(Type.Boolean(), 'Entra `accountEnabled` (null: no account).'),
  passwordLastChangedAt: Nullable(Type.String(), 'Entra `lastPasswordChangeDateTime`.'),
});

const Inventory = Type.Object({
  environment: Type.String(),
  readAt: Type.String({ format: 'date-time' }),
  limit: Type.Integer({ minimum: 0 }),
  used: Type.Integer({ minimum: 0 }),
  items: Type.Array(InventoryItem),
  findings: Type.Array(FindingKind, { description: 'Findings of the environment itself (`over-limit`).' }),
});

const Finding = Type.Object({
  kind: FindingKind,
  userPrincipalName: Nullable(Type.String(), 'Null for a finding of the environment (`over-limit`).'),
  systemUserId: Nullable(Type.String()),
  repaired: Type.Boolean(),
  detail: Type.String(),
});

const AuditProgress = Type.Object({
  phase: Type.String({ examples: ['repairing'] }),
  detail: Type.String(),
  findings: Type.Integer(),
  repaired: Type.Integer(),
});

const Audit = Type.Object({
  environment: Type.String(),
  startedAt: Nullable(Type.String({ format: 'date-time' }), 'Null until the first audit has completed.'),
  completedAt: Nullable(Type.String({ format: 'date-time' })),
  workflowId: Nullable(Type.String()),
  repair: Nullable(Type.Boolean(), "Whether that audit repaired (the environment's `auditRepair`)."),
  findings: Type.Array(Finding),
  rotations: Type.Array(
    Type.Object({
      userPrincipalName: Type.String(),
      workflowId: Type.String({ description: 'The rotation, as `GET .../password-rotation` shows it.' }),
    }),
    { description: "Password rotations the audit started (the environment's `rotatePasswordAfterDays`)." },
  ),
  running: Nullable(Type.Object({ workflowId: Type.String(), progress: Nullable(AuditProgress) })),
  schedule: Type.Object({
    id: Type.String({ examples: ['niu-audit:contoso-prod'] }),
    interval: Nullable(Type.String({ examples: ['PT3600S'] })),
    intervalSeconds: Nullable(Type.Integer()),
    paused: Type.Boolean(),
    note: Nullable(Type.String()),
    nextRunAt: Nullable(Type.String({ format: 'date-time' })),
  }),
});

const AuditAccepted = Type.Object({
  environment: Type.String(),
  requestedAt: Type.String({ format: 'date-time' }),
  links: Type.Object({ audit: Type.String({ format: 'uri' }) }),
});

export const auditRoutes: FastifyPluginAsyncTypebox<{ audit: AuditService; publicUrl: string }> = async (
  app,
  { audit, publicUrl },
) => {
  app.get(
    '/environments/:environment/non-interactive-users',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getInventory',
        summary: 'Non-interactive users, live',
        description:
          'Every user of the environment with access mode 4 that is not an application user, read live from ' +
          'Dataverse through the worker, joined with its Entra account and with the provisioning request that made ' +
          'it, each with the findings that apply. 503 when no worker answers in time.',
        tags: [TAG],
        security,
        params: EnvironmentParams,
        response: responses({ 200: { description: 'The inventory.', schema: Inventory } }, [400, ...AUTH_ERRORS, 404]),
      },
    },
    async (request) => audit.inventory(request.params.environment),
  );

  app.get(
    '/environments/:environment/audit',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getAudit',
        summary: 'The latest drift audit',
        description:
          "The latest completed audit's findings (none yet: `completedAt` null, no findings), the audit running now, " +
          "and the environment's schedule. 404 `audit-not-scheduled` before a worker has created the schedule.",
        tags: [TAG],
        security,
        params: EnvironmentParams,
        response: responses({ 200: { description: 'The latest audit.', schema: Audit } }, [400, ...AUTH_ERRORS, 404]),
      },
    },
    async (request) => audit.latest(request.params.environment),
  );

  app.post(
    '/environments/:environment/audit',
    {
      config: { access: 'write' },
      schema: {
        operationId: 'runAudit',
        summary: 'Run the drift audit now',
        description:
          "Triggers the environment's schedule; an audit already running finishes first. Follow it with GET.",
        tags: [TAG],
        security,
        params: EnvironmentParams,
        response: responses({ 202: { description: 'The audit is starting.', schema: AuditAccepted } }, [
          400,
          ...AUTH_ERRORS,
          404,
        ]),
      },
    },
    async (request, reply) => {
      const { environment } = request.params;
      const { requestedAt } = await audit.trigger(environment);
      const self = `${publicUrl}/v1/environments/${encodeURIComponent(environment)}/audit`;
      reply.header('location', self);
      return reply.code(202).send({ environment, requestedAt, links: { audit: self } });
    },
  );
};
