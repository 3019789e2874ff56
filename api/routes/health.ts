// Liveness (the process answers) and readiness (Temporal answers within a bound). Public.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Health, responses } from '../schemas';
import type { TemporalGateway } from '../temporal';

export const healthRoutes: FastifyPluginAsyncTypebox<{ temporal: TemporalGateway }> = async (app, { temporal }) => {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'healthz',
        summary: 'Liveness',
        tags: ['health'],
        response: responses({ 200: { description: 'The process is alive.', schema: Health } }, []),
      },
    },
    async () => ({ status: 'ok' }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'readyz',
        summary: 'Readiness',
        description: 'Ready when Temporal answers within two seconds.',
        tags: ['health'],
        response: responses({ 200: { description: 'Ready.', schema: Health } }, [503]),
      },
    },
    async () => {
      await temporal.ping();
      return { status: 'ready', temporal: 'ok' };
    },
  );
};
