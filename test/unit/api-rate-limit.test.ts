// Rate limits of the API: requests per verified client, and failed authentications per address
// (refused before any token is checked once spent; behind a trusted proxy, per forwarded address).
import type { FastifyInstance } from 'fastify';
import { startLocalIdentityProvider, type LocalIdentityProvider } from '../helpers/api';
import { appWithoutTemporal, expectProblem, getWithToken } from '../helpers/api-app';

let idp: LocalIdentityProvider;

beforeAll(async () => {
  idp = await startLocalIdentityProvider();
});
afterAll(async () => {
  await idp.close();
});

/** Runs `fn` against an app with this configuration, closed after. */
async function withApp(env: Record<string, string>, fn: (app: FastifyInstance) => Promise<void>): Promise<void> {
  const { app } = await appWithoutTemporal(idp, { LOG_LEVEL: 'silent', ...env });
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

it('429 problem per client once its budget is spent, other clients unaffected', async () => {
  await withApp({ API_RATE_LIMIT_PER_MINUTE: '3' }, async (app) => {
    const a = await idp.sign({ azp: 'client-a' });
    const b = await idp.sign({ azp: 'client-b' });
    const hit = (t: string) => getWithToken(app, '/v1/environments', t);
    for (let i = 0; i < 3; i++) expect((await hit(a)).statusCode).toBe(200);
    const limited = await hit(a);
    expectProblem(limited, 429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await hit(b)).statusCode).toBe(200);
  });
});

it('failed authentications: 429 per address once its budget is spent, before any token is checked', async () => {
  await withApp({ API_AUTH_FAILURES_PER_MINUTE: '3' }, async (app) => {
    const good = await idp.sign();
    const expired = await idp.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    const hit = (t: string, remoteAddress = '127.0.0.1') =>
      app.inject({ url: '/v1/environments', remoteAddress, headers: { authorization: `Bearer ${t}` } });
    // Successes do not count.
    for (let i = 0; i < 5; i++) expect((await hit(good)).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) expectProblem(await hit(expired), 401);
    const limited = await hit(expired);
    expectProblem(limited, 429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // The address is refused without its token being looked at, a valid one included.
    expectProblem(await hit(good), 429);
    // Another address is not affected.
    expect((await hit(good, '192.0.2.7')).statusCode).toBe(200);
    expectProblem(await hit(expired, '192.0.2.7'), 401);
  });
});

it('behind a trusted proxy the failure budget is per forwarded address, not the proxy', async () => {
  await withApp({ API_AUTH_FAILURES_PER_MINUTE: '2', API_TRUST_PROXY: '10.0.0.0/8' }, async (app) => {
    const expired = await idp.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    const via = (remoteAddress: string, client: string) =>
      app.inject({
        url: '/v1/environments',
        remoteAddress,
        headers: { authorization: `Bearer ${expired}`, 'x-forwarded-for': client },
      });
    for (let i = 0; i < 2; i++) expectProblem(await via('10.1.2.3', '198.51.100.1'), 401);
    expectProblem(await via('10.1.2.3', '198.51.100.1'), 429);
    // Another client through the same proxy has its own budget.
    expectProblem(await via('10.1.2.3', '198.51.100.2'), 401);
    // An untrusted peer's X-Forwarded-For is ignored: it is judged by its own address.
    for (let i = 0; i < 2; i++) expectProblem(await via('192.0.2.9', '198.51.100.3'), 401);
    expectProblem(await via('192.0.2.9', '198.51.100.4'), 429);
  });
});
