// The API while Temporal cannot be reached: writes and reads that need it answer 503 within a
// bound, readiness says so while liveness does not, the warm-up only logs it, and what comes from
// the configuration (the environments) is still served.
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config';
import { freePort } from '../../scripts/ports';
import { ROLE_READ, startLocalIdentityProvider, type LocalIdentityProvider } from '../helpers/api';
import { appWithoutTemporal, expectProblem, getWithToken, postRequest, validBody } from '../helpers/api-app';

let idp: LocalIdentityProvider;
let app: FastifyInstance;
let config: Config;

beforeAll(async () => {
  idp = await startLocalIdentityProvider();
  ({ app, config } = await appWithoutTemporal(idp));
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await idp.close();
});

it('503 for a write, within a bounded time', async () => {
  const started = Date.now();
  const body = expectProblem(
    await postRequest(app, await idp.sign(), { ...validBody, userPrincipalName: 'svc-503@contoso.onmicrosoft.com' }),
    503,
  );
  expect(Date.now() - started).toBeLessThan(config.temporal.connectTimeoutMs + 5000);
  expect(body.type).toMatch(/temporal-unavailable/);
});

it('503 from /readyz while /healthz stays 200', async () => {
  expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  expectProblem(await app.inject({ url: '/readyz' }), 503);
});

it('warm-up once listening: the token keys are fetched before any call; Temporal down is only logged', async () => {
  const own = await startLocalIdentityProvider();
  const { app: instance, logs } = await appWithoutTemporal(
    own,
    { TEMPORAL_CONNECT_TIMEOUT_MS: '1000' },
    { warmUp: true },
  );
  try {
    const port = await freePort();
    await instance.listen({ host: '127.0.0.1', port });
    // Serving at once, not after the warm-up.
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    let done: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && !done; i++) {
      await new Promise((r) => setTimeout(r, 50));
      done = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'warm-up done');
    }
    expect(done).toMatchObject({ keys: 'fetched', temporal: 'not reachable yet' });
    expect(own.jwksFetches()).toBe(1);
    // The first call finds the keys there: no fetch of its own.
    const res = await fetch(`http://127.0.0.1:${port}/v1/environments`, {
      headers: { authorization: `Bearer ${await own.sign()}` },
    });
    expect(res.status).toBe(200);
    expect(own.jwksFetches()).toBe(1);
  } finally {
    await instance.close();
    await own.close();
  }
});

it('lists the configured environments without secrets', async () => {
  const res = await getWithToken(app, '/v1/environments', await idp.sign({ roles: [ROLE_READ] }));
  expect(res.statusCode).toBe(200);
  const names = res.json().items.map((e: { name: string }) => e.name);
  expect(names).toEqual(config.environments.map((e) => e.name));
  expect(res.body).not.toMatch(/secret/i);
});
