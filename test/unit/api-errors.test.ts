// Every error class of the API answers in problem+json: schema errors listing each field (400),
// semantic ones (422), a body that is not JSON (415) or too large (413), no such route (404) or
// method (405), and bugs (500) without their internals. Request ids: kept from the caller when
// sane, in every answer and log line; logs carry neither tokens nor user principal names.
import type { FastifyInstance } from 'fastify';
import { startLocalIdentityProvider, type LocalIdentityProvider } from '../helpers/api';
import { appWithoutTemporal, expectProblem, getWithToken, postRequest, UPN, validBody } from '../helpers/api-app';

let idp: LocalIdentityProvider;
let app: FastifyInstance;
let logs: string[];
let token: string;

beforeAll(async () => {
  idp = await startLocalIdentityProvider();
  ({ app, logs } = await appWithoutTemporal(idp));
  // A route that fails with internals in its message, to check that 500s do not leak them.
  app.get('/boom', async () => {
    throw new Error(`database password=hunter2 for ${UPN} at /srv/secret/path.ts:42`);
  });
  await app.ready();
  token = await idp.sign();
});
afterAll(async () => {
  await app.close();
  await idp.close();
});

const post = (payload: unknown, headers: Record<string, string> = {}) => postRequest(app, token, payload, headers);

describe('the request body', () => {
  it('400 lists every schema error, and rejects unknown fields', async () => {
    const res = await post({ environment: 'contoso-prod', userPrincipalName: 'not an upn', extra: 1 });
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
    expectProblem(await post({ ...validBody, ...change }), 400);
  });

  it.each([
    ['an unknown environment', { environment: 'fabrikam-prod' }, 'unknown-environment'],
    ['a UPN domain not allowed there', { userPrincipalName: 'svc@fabrikam.com' }, 'domain-not-allowed'],
    ['a usage location that is no country', { usageLocation: 'XX' }, 'invalid-usage-location'],
  ])('422 for %s', async (_name, change, type) => {
    const body = expectProblem(await post({ ...validBody, ...change }), 422);
    expect(body.type).toMatch(new RegExp(`/${type}$`));
  });

  it.each([
    ['text/plain', '{"environment": "contoso-prod"}'],
    ['application/xml', '<user environment="contoso-prod"/>'],
    ['application/x-www-form-urlencoded', 'environment=contoso-prod'],
  ])('415 naming application/json for a body sent as %s', async (type, payload) => {
    const body = expectProblem(await post(payload, { 'content-type': type }), 415);
    expect(body).toMatchObject({
      type: expect.stringMatching(/\/unsupported-media-type$/),
      title: 'Unsupported media type',
      detail: expect.stringContaining('application/json'),
    });
  });

  it('400 for malformed JSON', async () => {
    expectProblem(await post('{"environment": ', { 'content-type': 'application/json' }), 400);
  });

  it('413 for a body over the limit', async () => {
    expectProblem(await post({ ...validBody, displayName: 'x'.repeat(40_000) }), 413);
  });
});

describe('routes and resources', () => {
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
    expectProblem(await getWithToken(app, '/v1/non-interactive-users/garbage', token), 404);
  });

  it('404 for the capacity or the readiness of an unknown environment', async () => {
    expectProblem(await getWithToken(app, '/v1/environments/fabrikam/capacity', token), 404);
    expectProblem(await getWithToken(app, '/v1/environments/fabrikam/readiness', token), 404);
  });

  it('500 without internals', async () => {
    const body = expectProblem(await app.inject({ url: '/boom' }), 500);
    expect(JSON.stringify(body)).not.toMatch(/hunter2|secret|\.ts|svc-unit/);
  });
});

describe('request ids and logs', () => {
  it('keeps a sane caller request id, replaces an unsafe one', async () => {
    const kept = await app.inject({ url: '/nope', headers: { 'x-request-id': 'trace-123' } });
    expect(kept.json().requestId).toBe('trace-123');
    const replaced = await app.inject({ url: '/nope', headers: { 'x-request-id': 'bad id\nwith newline' } });
    expect(replaced.json().requestId).not.toMatch(/bad/);
  });

  it('logs carry the request id, and neither tokens nor user principal names', async () => {
    await post({ ...validBody, userPrincipalName: 'svc-logcheck@contoso.onmicrosoft.com', displayName: 'Log' });
    await getWithToken(
      app,
      `/v1/non-interactive-users/${encodeURIComponent('niu:contoso-prod:svc-logcheck@contoso.onmicrosoft.com')}`,
      token,
    );
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
