// Authentication of the API against a local OpenID provider shaped like an Entra ID tenant, over
// real HTTP: discovery, JWKS, key rotation, the two token forms Entra issues (v1.0 and v2.0) and
// every wrong combination of issuer and audience, which tokens are refused (401) and which roles
// may do what (403), the cache of verified tokens, and a provider that cannot give its keys (503,
// not 401).
import { generateKeyPair, SignJWT } from 'jose';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { TokenVerifier, entraIssuers, type AuthOptions } from '../../api/auth';
import {
  API_AUDIENCE,
  API_CLIENT_ID,
  ROLE_READ,
  startLocalIdentityProvider,
  type LocalIdentityProvider,
} from '../helpers/api';
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

describe('token forms (Entra v1.0 and v2.0)', () => {
  const OTHER_TENANT = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';

  it('a v1.0 token (issuer https://sts.windows.net/{tid}/, aud the App ID URI) is accepted', async () => {
    const token = await idp.sign({ appid: 'v1-client' });
    expect((await environments(token)).statusCode).toBe(200);
  });

  it("a v2.0 token (issuer <authority>/{tid}/v2.0, aud the API's client id) is accepted", async () => {
    const token = await idp.sign({ azp: 'v2-client' }, { form: 'v2' });
    expect((await environments(token)).statusCode).toBe(200);
  });

  it('each wrong combination of issuer and audience is refused', async () => {
    const refused = {
      'v2.0 with the App ID URI': await idp.sign({ aud: API_AUDIENCE }, { form: 'v2' }),
      'v1.0 with the client id': await idp.sign({ aud: API_CLIENT_ID }),
      'v1.0 with another API': await idp.sign({ aud: 'api://another-api' }),
      'v2.0 with another client id': await idp.sign({ aud: '00000003-0000-0000-c000-000000000000' }, { form: 'v2' }),
      'v1.0 saying ver 2.0': await idp.sign({ ver: '2.0' }),
      'v2.0 with an audience list': await idp.sign({ aud: [API_CLIENT_ID, API_AUDIENCE] }, { form: 'v2' }),
    };
    for (const [what, token] of Object.entries(refused)) {
      const body = expectProblem(await environments(token), 401);
      expect({ what, detail: body.detail }).toEqual({ what, detail: expect.stringMatching(/audience|claims/) });
    }
  });

  it("another tenant's tokens are refused, in either form, even with this API's audience", async () => {
    const v1 = await idp.sign({ iss: `https://sts.windows.net/${OTHER_TENANT}/`, tid: OTHER_TENANT });
    const v2 = await idp.sign(
      { iss: idp.issuer.replace(idp.tenantId, OTHER_TENANT), tid: OTHER_TENANT },
      { form: 'v2' },
    );
    for (const token of [v1, v2]) expect(expectProblem(await environments(token), 401).detail).toMatch(/issuer/);
    // The right issuer with another tenant's tid claim.
    expect(expectProblem(await environments(await idp.sign({ tid: OTHER_TENANT })), 401).detail).toMatch(/tenant/);
  });

  it('without a client id (AUTH_CLIENT_ID unset) v2.0 tokens are refused with a clear detail; v1.0 still pass', async () => {
    const verifier = new TokenVerifier({ openIdConfigUrl: idp.openIdConfigUrl, audience: API_AUDIENCE });
    const { app: instance } = await appWithoutTemporal(idp, { LOG_LEVEL: 'silent' }, { verifier });
    try {
      const v2 = await getWithToken(instance, '/v1/environments', await idp.sign({}, { form: 'v2' }));
      expect(expectProblem(v2, 401).detail).toMatch(/does not accept v2\.0 tokens/);
      expect((await getWithToken(instance, '/v1/environments', await idp.sign())).statusCode).toBe(200);
    } finally {
      await instance.close();
    }
  });

  it('configured with the v1.0 metadata, both forms of its tenant are accepted, and only those', async () => {
    const verifier = new TokenVerifier({
      openIdConfigUrl: idp.v1OpenIdConfigUrl,
      audience: API_AUDIENCE,
      clientId: API_CLIENT_ID,
    });
    const { app: instance } = await appWithoutTemporal(idp, { LOG_LEVEL: 'silent' }, { verifier });
    const get = (token: string) => getWithToken(instance, '/v1/environments', token);
    try {
      expect((await get(await idp.sign())).statusCode).toBe(200);
      expect((await get(await idp.sign({}, { form: 'v2' }))).statusCode).toBe(200);
      expectProblem(await get(await idp.sign({ aud: API_AUDIENCE }, { form: 'v2' })), 401);
      expectProblem(await get(await idp.sign({ iss: `https://sts.windows.net/${OTHER_TENANT}/` })), 401);
    } finally {
      await instance.close();
    }
  });

  it("derives the tenant and both issuers from Entra's metadata issuer, and refuses any other issuer", () => {
    const tid = '6e1f3b5a-7c2d-4e8f-9a0b-1c2d3e4f5a6b';
    const metadataUrl = `https://login.microsoftonline.com/${tid}/.well-known/openid-configuration`;
    const expected = {
      tenantId: tid,
      v1Issuer: `https://sts.windows.net/${tid}/`,
      v2Issuer: `https://login.microsoftonline.com/${tid}/v2.0`,
    };
    expect(entraIssuers(`https://login.microsoftonline.com/${tid}/v2.0`, metadataUrl)).toEqual(expected);
    expect(entraIssuers(`https://sts.windows.net/${tid}/`, metadataUrl)).toEqual(expected);
    // A national cloud's v1.0 issuer comes from its v1.0 metadata, the v2.0 one from its authority.
    expect(
      entraIssuers(
        `https://sts.chinacloudapi.cn/${tid}/`,
        `https://login.partner.microsoftonline.cn/${tid}/.well-known/openid-configuration`,
      ),
    ).toEqual({
      tenantId: tid,
      v1Issuer: `https://sts.chinacloudapi.cn/${tid}/`,
      v2Issuer: `https://login.partner.microsoftonline.cn/${tid}/v2.0`,
    });
    for (const issuer of [
      'https://evil.example/v2.0',
      'https://login.microsoftonline.com/common/v2.0',
      'https://accounts.google.com',
    ]) {
      expect(() => entraIssuers(issuer, metadataUrl)).toThrow(/not an Entra ID tenant/);
    }
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
