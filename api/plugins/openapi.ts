// The OpenAPI document (built by @fastify/swagger from the routes' TypeBox schemas), Swagger UI at
// /docs, and the document itself at /openapi.json. App-wide, so it sees the routes registered
// after it (it must come before them).
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from '../../config';
import { appWide } from './app-wide';

/** audience: the tokens', named in the description and the security scheme. */
export type OpenApiOptions = Pick<Config['api'], 'audience' | 'publicUrl'>;

export const openapi = appWide<OpenApiOptions>('openapi', async (app, { audience, publicUrl }) => {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Non-interactive users API',
        version: '1.0.0',
        description:
          'Provisions Dynamics 365 (Dataverse) non-interactive users as durable Temporal workflows. ' +
          'Every /v1 route needs a bearer token for the audience `' +
          audience +
          '` with the application role NonInteractiveUsers.Read (reads) or NonInteractiveUsers.ReadWrite (writes). ' +
          'Errors are application/problem+json (RFC 9457).',
      },
      servers: [{ url: publicUrl }],
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
            description: `OAuth 2.0 client-credentials token for ${audience}/.default`,
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
});
