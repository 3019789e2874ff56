// Authentication of the API against a local OpenID provider over real HTTP: discovery, JWKS,
// key rotation, which tokens are refused (401) and which roles may do what (403), the cache of
// verified tokens, and a provider that cannot give its keys (503, not 401).
import { generateKeyPair, SignJWT } from 'jose';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { TokenVerifier, type AuthOptions } from '../../api/auth';
import { API_AUDIENCE, ROLE_READ, startLocalIdentityProvider, type LocalIdentityProvider } from '../helpers/api';
import { appWithoutTemporal, expectProblem, getWithToken, postRequest, validBody } from '../helpers/api-app';

let idp: LocalIdentityProvider;
let app: FastifyInstance;

beforeAll(async () => {
  idp = await startLocalIdentityProvider();
  ({ app } = await appWithoutTemporal(idp));
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await idp.close();
});

/** GET /v1/environments (no Temporal call) with a token. */
const environments = (token: string) => getWithToken(app, '/v1/environments', token);

describe('tokens refused', () => {
  it('401 without a token, with a WWW-Authenticate challenge', async () => {
    const res = await app.inject({ url: '/v1/environments' });
    expectProblem(res, 401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('401 for an expired token', async () => {
    const token = await idp.sign({}, { expiresIn: Math.floor(Date.now() / 1000) - 120 });
    expect(expectProblem(await environments(token), 401).detail).toMatch(/expired/);
  });

  it('401 for the wrong audience', async () => {
    const token = await idp.sign({ aud: 'https://graph.microsoft.com' });
    expect(expectProblem(await environments(token), 401).detail).toMatch(/audience/);
  });

  it('401 for the wrong issuer', async () => {
    const token = await idp.sign({ iss: 'https://evil.example/v2.0' });
    expect(expectProblem(await environments(token), 401).detail).toMatch(/issuer/);
  });

  it('401 for a tampered token (payload changed after signing)', async () => {
    const token = await idp.sign({ roles: [ROLE_READ] });
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.roles = ['NonInteractiveUsers.ReadWrite'];
    const forged = [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
    const body = expectProblem(await postRequest(app, forged, validBody), 401);
    expect(body.detail).toMatch(/signature/);
  });

  it('401 for a token signed by a key the provider does not publish', async () => {
    const other = await generateKeyPair('RS256');
    expectProblem(await environments(await idp.sign({}, { key: other })), 401);
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
    expectProblem(await environments(unsigned), 401);
    const hs = await new SignJWT({ roles: ['NonInteractiveUsers.ReadWrite'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(idp.issuer)
      .setAudience(API_AUDIENCE)
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('a-shared-secret-of-enough-length-123456'));
    expect(expectProblem(await environments(hs), 401).detail).toMatch(/algorithm/);
  });

  it('401 for a malformed Authorization header', async () => {
    expectProblem(await app.inject({ url: '/v1/environments', headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401);
  });
});

describe('roles', () => {
  it('403 when a reader writes; a reader may read', async () => {
    const reader = await idp.sign({ roles: [ROLE_READ], azp: 'reader-client' });
    const body = expectProblem(await postRequest(app, reader, validBody), 403);
    expect(body.detail).toMatch(/NonInteractiveUsers\.ReadWrite/);
    expect((await environments(reader)).statusCode).toBe(200);
    expectProblem(await environments(await idp.sign({ roles: [] })), 403);
  });
});

describe('the identity provider', () => {
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
    const verifier = new TokenVerifier({ openIdConfigUrl: own.openIdConfigUrl, audience: API_AUDIENCE, ...options });
    const { app: instance } = await appWithoutTemporal(own, { LOG_LEVEL: 'silent' }, { verifier });
    try {
      await fn(own, (t) => getWithToken(instance, '/v1/environments', t), verifier);
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
