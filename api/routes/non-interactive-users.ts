// /v1/non-interactive-users: request, track, list and cancel (docs/api.md).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AUTH_ERRORS,
  Accepted,
  CancelAccepted,
  CreateRequest,
  IdParams,
  ListPage,
  ListQuery,
  StatusDocument,
  responses,
} from '../schemas';
import type { NonInteractiveUserService } from '../service';

const TAG = 'non-interactive-users';
const security = [{ bearerAuth: [] }];

export const nonInteractiveUserRoutes: FastifyPluginAsyncTypebox<{ service: NonInteractiveUserService }> = async (
  app,
  { service },
) => {
  app.post(
    '/non-interactive-users',
    {
      config: { access: 'write' },
      schema: {
        operationId: 'createNonInteractiveUser',
        summary: 'Request a non-interactive user',
        description:
          'Starts provisioning. The same request while one is running answers 200 with the same id; ' +
          'a user already provisioned in that environment answers 409; after a failed or cancelled attempt a new run starts.',
        tags: [TAG],
        security,
        body: CreateRequest,
        response: responses(
          {
            202: { description: 'Accepted; follow `Location`.', schema: Accepted },
            200: { description: 'The same request is already running.', schema: Accepted },
          },
          [400, ...AUTH_ERRORS, 409, 413, 415, 422],
        ),
      },
    },
    async (request, reply) => {
      const { id, created } = await service.create(request.body);
      const links = service.links(id);
      reply.header('location', links.self);
      return reply.code(created ? 202 : 200).send({ id, status: 'running', links });
    },
  );

  app.get(
    '/non-interactive-users/:id',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'getNonInteractiveUser',
        summary: 'Status of a request',
        description: 'The status document: overall status, current step, the eight steps, result or error.',
        tags: [TAG],
        security,
        params: IdParams,
        response: responses({ 200: { description: 'Status document.', schema: StatusDocument } }, [
          400,
          ...AUTH_ERRORS,
          404,
        ]),
      },
    },
    async (request) => {
      const doc = await service.status(request.params.id);
      return { ...doc, links: service.links(doc.id) };
    },
  );

  app.get(
    '/non-interactive-users',
    {
      config: { access: 'read' },
      schema: {
        operationId: 'listNonInteractiveUsers',
        summary: 'List requests',
        description: 'From Temporal visibility (eventually consistent), newest first; page with `nextPageToken`.',
        tags: [TAG],
        security,
        querystring: ListQuery,
        response: responses({ 200: { description: 'One page of requests.', schema: ListPage } }, [
          400,
          ...AUTH_ERRORS,
          422,
        ]),
      },
    },
    async (request) => service.list(request.query),
  );

  app.post(
    '/non-interactive-users/:id/cancel',
    {
      config: { access: 'write' },
      schema: {
        operationId: 'cancelNonInteractiveUser',
        summary: 'Cancel a request',
        description: 'Requests cancellation; the workflow compensates what it did and ends `cancelled`.',
        tags: [TAG],
        security,
        params: IdParams,
        response: responses({ 202: { description: 'Cancellation requested.', schema: CancelAccepted } }, [
          400,
          ...AUTH_ERRORS,
          404,
          409,
        ]),
      },
    },
    async (request, reply) => {
      await service.cancel(request.params.id);
      return reply
        .code(202)
        .send({ id: request.params.id, status: 'cancel-requested' as const, links: service.links(request.params.id) });
    },
  );
};
