// Set-up shared by the API's tests. Unit tests: an app without Temporal (nothing listens at its
// Temporal address, so every call there ends in a bounded 503) that verifies tokens against a
// local OpenID provider and keeps its log lines. Every test: the checks a problem+json answer
// passes, whether it came from `inject` or over real HTTP.
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type BuildAppOptions } from '../../api/app';
import { loadConfig, type Config } from '../../config';
import { freePort } from '../../scripts/ports';
import type { ApiResponse, LocalIdentityProvider } from './api';

export const UPN = 'svc-unit@contoso.onmicrosoft.com';
/** A create request the schemas accept, for an environment and domain the configuration has. */
export const validBody = { environment: 'contoso-prod', userPrincipalName: UPN, displayName: 'Unit test' };

export interface AppWithoutTemporal {
  app: FastifyInstance;
  config: Config;
  /** The app's log lines (JSON), as written. */
  logs: string[];
}

/** Builds (does not start) an app without Temporal; `env` adds to or overrides its configuration. */
export async function appWithoutTemporal(
  idp: LocalIdentityProvider,
  env: Record<string, string> = {},
  options: Omit<BuildAppOptions, 'config' | 'logStream'> = {},
): Promise<AppWithoutTemporal> {
  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({
    NIU_SANDBOX: 'true',
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    TEMPORAL_CONNECT_TIMEOUT_MS: '1500',
    AUTH_OPENID_CONFIG_URL: idp.openIdConfigUrl,
    LOG_LEVEL: 'info',
    ...env,
  });
  const app = await buildApp({ config, logStream, ...options });
  return { app, config, logs };
}

/** POST /v1/non-interactive-users through `inject`, with a bearer token when one is given. */
export const postRequest = (
  app: FastifyInstance,
  token: string | null,
  payload: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> =>
  app.inject({
    method: 'POST',
    url: '/v1/non-interactive-users',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    payload: payload as object,
  });

/** GET through `inject` with a bearer token. */
export const getWithToken = (app: FastifyInstance, url: string, token: string): Promise<LightMyRequestResponse> =>
  app.inject({ url, headers: { authorization: `Bearer ${token}` } });

/**
 * Checks a problem+json answer, from `inject` or from `call` (test/helpers/api.ts): its status,
 * content type, the RFC 9457 members and the request id of the x-request-id header. Returns the body.
 */
export function expectProblem(res: LightMyRequestResponse | ApiResponse, status: number): Record<string, unknown> {
  const answer =
    'statusCode' in res
      ? { status: res.statusCode, type: res.headers['content-type'], id: res.headers['x-request-id'], body: res.json() }
      : {
          status: res.status,
          type: res.headers.get('content-type'),
          id: res.headers.get('x-request-id'),
          body: res.body,
        };
  expect(answer.status).toBe(status);
  expect(String(answer.type)).toMatch(/^application\/problem\+json/);
  const body = answer.body as Record<string, unknown>;
  expect(body).toMatchObject({
    status,
    type: expect.stringMatching(/^https:\/\//),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(body.requestId).toBe(answer.id);
  return body;
}
