// /v1/non-interactive-users/{id}: deprovision (DELETE), rotate the password, and the status
// documents of both (docs/api.md).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AUTH_ERRORS, IdParams, responses } from '../schemas';
import {
  DeprovisionAccepted,
  DeprovisionQuery,
  DeprovisionStatusDocument,
  RotationAccepted,
  RotationStatusDocument,
} from '../lifecycle-schemas';
import type { UserLifecycleService } from '../lifecycle-service';
import type { NonInteractiveUserService } from '../service';

const TAG = 'non-interactive-users';
const security = [{ bearerAuth: [] }];

export const userLifecycleRoutes: FastifyPluginAsyncTypebox<{
  service: NonInteractiveUserService;
  lifecycle: UserLifecycleService;
}> = async (app, { service, lifecycle }) => {
  const links = (id: string, kind: 'deprovisioning' | 'password-rotation') => ({
    self: lifecycle.url(id, kind),
    user: service.selfUrl(id),
  });

  app.delete(
    '/non-interactive-users/:id',
    {
      config: { access: 'write' },
      schema: {
        operationId: 'deprovisionNonInteractiveUser',
        summary: 'Deprovision a user',
        description:
          'Starts deprovisioning: the user stops counting toward the limit (access mode off 4), its account is ' +
          'disabled and its password secret deleted (unless another environment still uses the account), and with ' +
          '`deleteAccount=true` the account is deleted. Repeated while it runs: 202 with the same run; once ' +
          'deprovisioned: 200. 409 while the provisioning runs (cancel it instead) or when it did not succeed.',
        tags: [TAG],
        security,
        params: IdParams,
        querystring: DeprovisionQuery,
        response: responses(
          {
            202: { description: 'Deprovisioning started or running; follow `Location`.', schema: DeprovisionAccepted },
            200: { description: 'Already deprovisioned.', schema: DeprovisionAccepted },
          },
          [400, ...AUTH_ERRORS, 404, 409],
        ),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { done } = await lifecycle.deprovision(id, request.query.deleteAccount ?? false);
      const l = links(id, 'deprovisioning');
      reply.header('location', l.self);
      return reply.code(done ? 200 : 202).send({ id, status: done ? 'succeeded' : 'running', links: l });
    },
  );

  app.get(
    '/non-interactive-users/:id/deprovisioning',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getDeprovisioning',
        summary: "Status of a user's deprovisioning",
        description: 'The latest deprovisioning of the user: its six steps, result or error.',
        tags: [TAG],
        security,
        params: IdParams,
        response: responses({ 200: { description: 'Status document.', schema: DeprovisionStatusDocument } }, [
          400,
          ...AUTH_ERRORS,
          404,
        ]),
      },
    },
    async (request) => {
      const doc = await lifecycle.deprovisioningStatus(request.params.id);
      return { ...doc, links: links(request.params.id, 'deprovisioning') };
    },
  );

  app.post(
    '/non-interactive-users/:id/rotate-password',
    {
      config: { access: 'write' },
      schema: {
        operationId: 'rotatePassword',
        summary: "Rotate a user's password",
        description:
          'Starts a rotation: a new generated password, set on the account and stored as a new version of its Key ' +
          'Vault secret, never returned. `passwordSecretId` is the secret without a version; the new version is ' +
          "the rotation's `result.passwordSecretId` (follow `Location`). 409 when the user is not provisioned, " +
          'is being or was deprovisioned, or its provisioning runs.',
        tags: [TAG],
        security,
        params: IdParams,
        response: responses({ 202: { description: 'Rotation started or running.', schema: RotationAccepted } }, [
          400,
          ...AUTH_ERRORS,
          404,
          409,
        ]),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { passwordSecretId } = await lifecycle.rotatePassword(id);
      const l = links(id, 'password-rotation');
      reply.header('location', l.self);
      return reply.code(202).send({ id, status: 'running' as const, passwordSecretId, links: l });
    },
  );

  app.get(
    '/non-interactive-users/:id/password-rotation',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getPasswordRotation',
        summary: "Status of a user's latest password rotation",
        description: "Its two steps; once succeeded, `result.passwordSecretId` is the new secret version's id.",
        tags: [TAG],
        security,
        params: IdParams,
        response: responses({ 200: { description: 'Status document.', schema: RotationStatusDocument } }, [
          400,
          ...AUTH_ERRORS,
          404,
        ]),
      },
    },
    async (request) => {
      const doc = await lifecycle.rotationStatus(request.params.id);
      return { ...doc, links: links(request.params.id, 'password-rotation') };
    },
  );
};
