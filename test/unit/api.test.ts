// The API without Temporal: authentication against a local OpenID provider over real HTTP
// (discovery, JWKS, rotation), validation, problem+json for every error class, request ids,
// log hygiene, rate limiting and the 503 when Temporal cannot be reached. Temporal-backed
// behaviour is covered end to end in test/e2e/api.test.ts.
import { Writable } from 'node:stream';
import { generateKeyPair, SignJWT } from 'jose';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../api/app';
import { TokenVerifier, type AuthOptions } from '../../api/auth';
import { loadConfig, type Config } from '../../config';
import { freePort } from '../../scripts/ports';
import { API_AUDIENCE, ROLE_READ, startLocalIdentityProvider, type LocalIdentityProvider } from '../helpers/api';

const UPN = 'svc-unit@contoso.onmicrosoft.com';

describe('API (no Temporal)', () => {
  let idp: LocalIdentityProvider;
  let app: FastifyInstance;
  let config: Config;
  let logs: string[];

  const makeApp = async (env: Record<string, string> = {}, appOptions: { warmUp?: boolean } = {}) => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    const cfg = loadConfig({
      // Nothing listens on this port: every Temporal call must end in a bounded 503.
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      TEMPORAL_CONNECT_TIMEOUT_MS: '1500',
      AUTH_OPENID_CONFIG_URL: idp.openIdConfigUrl,
      LOG_LEVEL: 'info',
      ...env,
    });
    const instance = await buildApp({ config: cfg, logStream: stream, ...appOptions });
    return { instance, cfg, lines };
  };

  beforeAll(async () => {
    idp = await startLocalIdentityProvider();
    ({ instance: app, cfg: config, lines: logs } = await makeApp());
    // A route that fails with internals in its message, to check that 500s do not leak them.
    app.get('/boom', async () => {
      throw new Error(`database password=hunter2 for ${UPN} at /srv/secret/path.ts:42`);
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await idp.close();
  });

  const validBody = { environment: 'contoso-prod', userPrincipalName: UPN, displayName: 'Unit test' };
  const post = async (token: string | null, payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/non-interactive-users',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      payload: payload as object,
    });

  const expectProblem = (
    res: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
    status: number,
  ) => {
    expect(res.statusCode).toBe(status);
    expect(String(res.headers['content-type'])).toMatch(/^application\/problem\+json/);
    const body = res.json() as Record<string, unknown>;
    expect(body).toMatchObject({ status, type: expect.stringMatching(/^https:\/\//), title: expect.any(String) });
    expect(body.detail).toEqual(expect.any(String));
    expect(body.requestId).toBe(res.headers['x-request-id']);
    return body;
  };

  describe('authentication', () => {
    it('401 without a token, with a WWW-Authenticate challenge', async () => {
      const res = await app.inject({ url: '/v1/environments' });
      expectProblem(res, 401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('401 for an expired token', async () => {
      const token = await idp.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
      const body = expectProblem(
        await app.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${token}` } }),
        401,
      );
      expect(body.detail).toMatch(/expired/);
    });

    it('401 for the wrong audience', async () => {
      const token = await idp.sign({ aud: 'https://graph.microsoft.com' });
      const body = expectProblem(
        await app.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${token}` } }),
        401,
      );
      expect(body.detail).toMatch(/audience/);
    });

    it('401 for the wrong issuer', async () => {
      const token = await idp.sign({ iss: 'https://evil.example/v2.0' });
      const body = expectProblem(
        await app.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${token}` } }),
        401,
      );
      expect(body.detail).toMatch(/issuer/);
    });

    it('401 for a tampered token (payload changed after signing)', async () => {
      const token = await idp.sign({ roles: [ROLE_READ] });
      const [h, p, s] = token.split('.');
      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
      payload.roles = ['NonInteractiveUsers.ReadWrite'];
      const forged = [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
      const body = expectProblem(await post(forged, validBody), 401);
      expect(body.detail).toMatch(/signature/);
    });

    it('401 for a token signed by a key the provider does not publish', async () => {
      const other = await generateKeyPair('RS256');
      const token = await idp.sign({}, { key: other });
      expectProblem(await app.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${token}` } }), 401);
    });

    it('401 for alg none and HS256 tokens (algorithm allow-list)', async () => {
      const unsigned = [
        Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url'),
        Buffer.from(
          JSON.stringify({
            iss: idp.issuer,
            aud: API_AUDIENCE,
            exp: Math.floor(Date.now() / 1000) + 600,
            roles: ['NonInteractiveUsers.ReadWrite'],
          }),
        ).toString('base64url'),
        '',
      ].join('.');
      expectProblem(
        await app.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${unsigned}` } }),
        401,
      );
      const hs = await new SignJWT({ roles: ['NonInteractiveUsers.ReadWrite'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(idp.issuer)
        .setAudience(API_AUDIENCE)
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('a-shared-secret-of-enough-length-123456'));
      const body = expectProblem(
        await app.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${hs}` } }),
        401,
      );
      expect(body.detail).toMatch(/algorithm/);
    });

    it('401 for a malformed Authorization header', async () => {
      expectProblem(
        await app.inject({ url: '/v1/environments', headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
        401,
      );
    });

    it('403 when a reader writes; a reader may read', async () => {
      const reader = await idp.sign({ roles: [ROLE_READ], azp: 'reader-client' });
      const body = expectProblem(await post(reader, validBody), 403);
      expect(body.detail).toMatch(/NonInteractiveUsers\.ReadWrite/);
      const read = await app.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${reader}` } });
      expect(read.statusCode).toBe(200);
      const none = await idp.sign({ roles: [] });
      expectProblem(await app.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${none}` } }), 403);
    });

    /**
     * Runs `fn` against an API of its own, with its own identity provider (the shared one stays
     * untouched) and the given verifier options; `get` calls /v1/environments with a token.
     */
    const withOwnProvider = async (
      options: Partial<AuthOptions>,
      fn: (
        idp: LocalIdentityProvider,
        get: (token: string) => Promise<LightMyRequestResponse>,
        verifier: TokenVerifier,
      ) => Promise<void>,
    ): Promise<void> => {
      const own = await startLocalIdentityProvider();
      const cfg = loadConfig({
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        AUTH_OPENID_CONFIG_URL: own.openIdConfigUrl,
        LOG_LEVEL: 'silent',
      });
      const verifier = new TokenVerifier({
        openIdConfigUrl: cfg.api.openIdConfigUrl,
        audience: cfg.api.audience,
        ...options,
      });
      const instance = await buildApp({ config: cfg, verifier });
      try {
        await fn(
          own,
          (t) => instance.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${t}` } }),
          verifier,
        );
      } finally {
        await instance.close();
        await own.close();
      }
    };

    it('follows key rotation: a token with a new kid makes the API fetch the key set again', async () => {
      await withOwnProvider({ jwksCooldownMs: 200 }, async (rotating, get) => {
        const first = await rotating.sign();
        expect((await get(first)).statusCode).toBe(200);
        expect((await get(first)).statusCode).toBe(200);
        expect(rotating.jwksFetches()).toBe(1); // cached
        await rotating.rotate(true);
        await new Promise((r) => setTimeout(r, 300));
        const second = await rotating.sign();
        expect((await get(second)).statusCode).toBe(200);
        expect(rotating.jwksFetches()).toBe(2); // unknown kid: fetched again
        // The retired key is gone from the provider; once the cache refreshes, its tokens fail.
        expect((await get(first)).statusCode).toBe(401);
      });
    });

    it('a verified token is kept: checked once, again past its expiry, the oldest dropped when full', async () => {
      await withOwnProvider({ clockToleranceSec: 0, verifiedTokens: 2 }, async (idp, get, verifier) => {
        const a = await idp.sign();
        for (let i = 0; i < 3; i++) expect((await get(a)).statusCode).toBe(200);
        expect(verifier.checks).toBe(1);
        // Expiry: taken from the cache only until the token's exp.
        const exp = Math.floor(Date.now() / 1000) + 2;
        const short = await idp.sign({ azp: 'short-lived' }, { expiresIn: exp });
        expect((await get(short)).statusCode).toBe(200);
        expect((await get(short)).statusCode).toBe(200);
        expect(verifier.checks).toBe(2);
        await new Promise((r) => setTimeout(r, exp * 1000 + 50 - Date.now()));
        expectProblem(await get(short), 401);
        expect(verifier.checks).toBe(3);
        // Room for two: a third token pushes out the oldest kept one (a).
        const b = await idp.sign({ azp: 'b' });
        const c = await idp.sign({ azp: 'c' });
        for (const t of [b, c, a]) expect((await get(t)).statusCode).toBe(200);
        expect(verifier.checks).toBe(6);
        // A token that fails is never kept.
        for (let i = 0; i < 2; i++) expectProblem(await get(`${a}x`), 401);
        expect(verifier.checks).toBe(8);
      });
    });

    it('503 (not 401) while the identity provider cannot give its keys: an error status, not JSON; 200 once it can', async () => {
      await withOwnProvider({ jwksCooldownMs: 0 }, async (flaky, get) => {
        for (const how of [503, 404, 'not-json'] as const) {
          flaky.breakKeys(how);
          const res = await get(await flaky.sign());
          const body = expectProblem(res, 503);
          expect({ how, type: body.type, retryAfter: res.headers['retry-after'] }).toEqual({
            how,
            type: expect.stringMatching(/identity-provider-unavailable$/),
            retryAfter: '5',
          });
        }
        flaky.breakKeys(null);
        expect((await get(await flaky.sign())).statusCode).toBe(200);
        // A bad token is still the client's fault while the keys are at hand.
        expectProblem(await get('a.b.c'), 401);
      });
    });
  });

  describe('validation and problem+json', () => {
    let token: string;
    beforeAll(async () => {
      token = await idp.sign();
    });

    it('400 lists every schema error, and rejects unknown fields', async () => {
      const res = await post(token, { environment: 'contoso-prod', userPrincipalName: 'not an upn', extra: 1 });
      const body = expectProblem(res, 400);
      const pointers = (body.errors as { pointer: string }[]).map((e) => e.pointer);
      expect(pointers).toEqual(expect.arrayContaining(['/body/userPrincipalName', '/body/displayName', '/body/extra']));
    });

    it.each([
      ['UPN with a leading dot', { userPrincipalName: '.svc@contoso.onmicrosoft.com' }],
      ['UPN without a domain dot', { userPrincipalName: 'svc@contoso' }],
      ['display name too long', { displayName: 'x'.repeat(257) }],
      ['display name blank', { displayName: '   ' }],
      ['usage location not alpha-2', { usageLocation: 'usa' }],
      ['role name empty', { securityRoles: [''] }],
      ['roles repeated', { securityRoles: ['Basic User', 'Basic User'] }],
      ['environment not a name', { environment: 'Contoso Prod' }],
    ])('400 for %s', async (_name, change) => {
      expectProblem(await post(token, { ...validBody, ...change }), 400);
    });

    it.each([
      ['an unknown environment', { environment: 'fabrikam-prod' }, 'unknown-environment'],
      ['a UPN domain not allowed there', { userPrincipalName: 'svc@fabrikam.com' }, 'domain-not-allowed'],
      ['a usage location that is no country', { usageLocation: 'XX' }, 'invalid-usage-location'],
    ])('422 for %s', async (_name, change, type) => {
      const body = expectProblem(await post(token, { ...validBody, ...change }), 422);
      expect(body.type).toMatch(new RegExp(`/${type}$`));
    });

    it.each([
      ['text/plain', '{"environment": "contoso-prod"}'],
      ['application/xml', '<user environment="contoso-prod"/>'],
      ['application/x-www-form-urlencoded', 'environment=contoso-prod'],
    ])('415 naming application/json for a body sent as %s', async (type, payload) => {
      const body = expectProblem(await post(token, payload, { 'content-type': type }), 415);
      expect(body).toMatchObject({
        type: expect.stringMatching(/\/unsupported-media-type$/),
        title: 'Unsupported media type',
        detail: expect.stringContaining('application/json'),
      });
    });

    it('400 for malformed JSON', async () => {
      expectProblem(await post(token, '{"environment": ', { 'content-type': 'application/json' }), 400);
    });

    it('413 for a body over the limit', async () => {
      expectProblem(await post(token, { ...validBody, displayName: 'x'.repeat(40_000) }), 413);
    });

    it('404 for an unknown route, 405 (with Allow) for a wrong method', async () => {
      expectProblem(await app.inject({ url: '/v2/nothing' }), 404);
      const res = await app.inject({
        method: 'DELETE',
        url: '/v1/non-interactive-users',
        headers: { authorization: `Bearer ${token}` },
      });
      expectProblem(res, 405);
      expect(String(res.headers.allow)).toMatch(/GET/);
      expect(String(res.headers.allow)).toMatch(/POST/);
    });

    it('404 for an id that is not a request id (without asking Temporal)', async () => {
      expectProblem(
        await app.inject({ url: '/v1/non-interactive-users/garbage', headers: { authorization: `Bearer ${token}` } }),
        404,
      );
    });

    it('404 for the capacity of an unknown environment', async () => {
      expectProblem(
        await app.inject({ url: '/v1/environments/fabrikam/capacity', headers: { authorization: `Bearer ${token}` } }),
        404,
      );
    });

    it('500 without internals', async () => {
      const body = expectProblem(await app.inject({ url: '/boom' }), 500);
      expect(JSON.stringify(body)).not.toMatch(/hunter2|secret|\.ts|svc-unit/);
    });

    it('keeps a sane caller request id, replaces an unsafe one', async () => {
      const kept = await app.inject({ url: '/nope', headers: { 'x-request-id': 'trace-123' } });
      expect(kept.json().requestId).toBe('trace-123');
      const replaced = await app.inject({ url: '/nope', headers: { 'x-request-id': 'bad id\nwith newline' } });
      expect(replaced.json().requestId).not.toMatch(/bad/);
    });
  });

  describe('Temporal unreachable', () => {
    it('503 for a write, within a bounded time', async () => {
      const token = await idp.sign();
      const started = Date.now();
      const body = expectProblem(
        await post(token, { ...validBody, userPrincipalName: 'svc-503@contoso.onmicrosoft.com' }),
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
      const { instance, lines } = await makeApp(
        { TEMPORAL_CONNECT_TIMEOUT_MS: '1000', AUTH_OPENID_CONFIG_URL: own.openIdConfigUrl },
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
          done = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'warm-up done');
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
  });

  describe('environments', () => {
    it('lists the configured environments without secrets', async () => {
      const token = await idp.sign({ roles: [ROLE_READ] });
      const res = await app.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(200);
      const names = res.json().items.map((e: { name: string }) => e.name);
      expect(names).toEqual(config.environments.map((e) => e.name));
      expect(res.body).not.toMatch(/secret/i);
    });
  });

  describe('logs', () => {
    it('carry the request id, and neither tokens nor user principal names', async () => {
      const token = await idp.sign();
      await post(token, {
        ...validBody,
        userPrincipalName: 'svc-logcheck@contoso.onmicrosoft.com',
        displayName: 'Log',
      });
      await app.inject({
        url: `/v1/non-interactive-users/${encodeURIComponent('niu:contoso-prod:svc-logcheck@contoso.onmicrosoft.com')}`,
        headers: { authorization: `Bearer ${token}` },
      });
      await app.inject({ url: '/boom' });
      const text = logs.join('\n');
      expect(logs.length).toBeGreaterThan(3);
      expect(text).not.toContain(token.split('.')[2]);
      expect(text).not.toMatch(/svc-logcheck|svc-unit|hunter2@/);
      for (const line of logs) {
        const entry = JSON.parse(line);
        if (entry.req || entry.res || entry.error) expect(entry.reqId).toEqual(expect.any(String));
      }
    });
  });

  describe('rate limit', () => {
    it('429 problem per client once its budget is spent, other clients unaffected', async () => {
      const { instance } = await makeApp({ API_RATE_LIMIT_PER_MINUTE: '3' });
      try {
        const a = await idp.sign({ azp: 'client-a' });
        const b = await idp.sign({ azp: 'client-b' });
        const hit = (t: string) =>
          instance.inject({ url: '/v1/environments', headers: { authorization: `Bearer ${t}` } });
        for (let i = 0; i < 3; i++) expect((await hit(a)).statusCode).toBe(200);
        const limited = await hit(a);
        expectProblem(limited, 429);
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
        expect((await hit(b)).statusCode).toBe(200);
      } finally {
        await instance.close();
      }
    });

    it('failed authentications: 429 per address once its budget is spent, before any token is checked', async () => {
      const { instance } = await makeApp({ API_AUTH_FAILURES_PER_MINUTE: '3' });
      try {
        const good = await idp.sign();
        const expired = await idp.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
        const hit = (t: string, remoteAddress = '127.0.0.1') =>
          instance.inject({ url: '/v1/environments', remoteAddress, headers: { authorization: `Bearer ${t}` } });
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
      } finally {
        await instance.close();
      }
    });

    it('behind a trusted proxy the failure budget is per forwarded address, not the proxy', async () => {
      const { instance } = await makeApp({ API_AUTH_FAILURES_PER_MINUTE: '2', API_TRUST_PROXY: '10.0.0.0/8' });
      try {
        const expired = await idp.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
        const via = (remoteAddress: string, client: string) =>
          instance.inject({
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
      } finally {
        await instance.close();
      }
    });
  });
});
