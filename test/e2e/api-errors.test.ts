// The API's error answers over real HTTP, against a stack of its own, with tokens from the
// sandbox's token endpoint: each error status as problem+json, and the OpenAPI document that
// declares them (valid OpenAPI 3.1, every route with its security and its errors).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildApp } from '../../api/app';
import { loadConfig } from '../../config';
import { freePort } from '../../scripts/ports';
import { call, clientCredentialsToken, idPath } from '../helpers/api';
import { expectProblem } from '../helpers/api-app';
import { useApiStack } from '../helpers/api-stack';

const root = path.resolve(__dirname, '../..');
const e2e = useApiStack({ name: 'api-errors' });
const { api, create } = e2e;

describe('error statuses', () => {
  it('400 schema errors with the field list', async () => {
    const res = await api('POST', '/v1/non-interactive-users', {
      body: { environment: 'contoso-prod', userPrincipalName: 'no-at-sign', displayName: 'x', color: 'red' },
    });
    const body = expectProblem(res, 400);
    expect((body.errors as { pointer: string }[]).map((e) => e.pointer)).toEqual(
      expect.arrayContaining(['/body/userPrincipalName', '/body/color']),
    );
    expectProblem(await api('GET', '/v1/non-interactive-users?pageSize=0'), 400);
  });

  it('401: no token, expired, wrong audience, tampered', async () => {
    expectProblem(await api('GET', '/v1/environments', { token: '' }), 401);

    await e2e.stack.control.config({ tokenLifetimeSeconds: 1 });
    let expired: string;
    try {
      expired = await clientCredentialsToken(e2e.stack.sandbox.url, 'operator-client', 'operator-secret');
    } finally {
      await e2e.stack.control.config({ tokenLifetimeSeconds: 3600 });
    }
    await new Promise((r) => setTimeout(r, 3500)); // lifetime 1 s + the API's 1 s tolerance
    expect(expectProblem(await api('GET', '/v1/environments', { token: expired }), 401).detail).toMatch(/expired/);

    const graphToken = await clientCredentialsToken(
      e2e.stack.sandbox.url,
      'provisioner-client',
      'provisioner-secret',
      'https://graph.microsoft.com/.default',
    );
    expect(expectProblem(await api('GET', '/v1/environments', { token: graphToken }), 401).detail).toMatch(/audience/);

    const [h, p, s] = e2e.reader.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    claims.roles = ['NonInteractiveUsers.ReadWrite'];
    const tampered = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    const forged = await call(e2e.stack.apiUrl, 'POST', '/v1/non-interactive-users', {
      token: tampered,
      body: {
        environment: 'contoso-prod',
        userPrincipalName: 'svc-e2e-tampered@contoso.onmicrosoft.com',
        displayName: 'x',
      },
    });
    expect(expectProblem(forged, 401).detail).toMatch(/signature/);
  });

  it('403 when the reader writes', async () => {
    const res = await call(e2e.stack.apiUrl, 'POST', '/v1/non-interactive-users', {
      token: e2e.reader,
      body: {
        environment: 'contoso-prod',
        userPrincipalName: 'svc-e2e-reader@contoso.onmicrosoft.com',
        displayName: 'x',
      },
    });
    expectProblem(res, 403);
    expectProblem(
      await call(e2e.stack.apiUrl, 'POST', `${idPath('niu:contoso-prod:x@contoso.onmicrosoft.com')}/cancel`, {
        token: e2e.reader,
      }),
      403,
    );
  });

  it('404 for an unknown id and an unknown route; 405 for a wrong method', async () => {
    expectProblem(await api('GET', idPath('niu:contoso-prod:nobody@contoso.onmicrosoft.com')), 404);
    expectProblem(await api('POST', `${idPath('niu:contoso-prod:nobody@contoso.onmicrosoft.com')}/cancel`), 404);
    expectProblem(await api('GET', '/v1/no-such-thing'), 404);
    expectProblem(await api('GET', '/v1/environments/fabrikam-prod/readiness'), 404);
    expectProblem(await api('PUT', '/v1/environments'), 405);
  });

  it('415 for a body that is not JSON; 413 for an oversized one', async () => {
    for (const [type, rawBody] of [
      ['application/xml', '<user/>'],
      ['text/plain', '{"environment": "contoso-prod"}'],
    ] as const) {
      const problem = expectProblem(
        await api('POST', '/v1/non-interactive-users', { rawBody, headers: { 'content-type': type } }),
        415,
      );
      expect({ type, detail: problem.detail }).toEqual({ type, detail: expect.stringContaining('application/json') });
    }
    expectProblem(
      await api('POST', '/v1/non-interactive-users', {
        rawBody: JSON.stringify({ displayName: 'x'.repeat(100_000) }),
        headers: { 'content-type': 'application/json' },
      }),
      413,
    );
  });

  it('422 for an unknown environment, a foreign domain, an unknown usage location', async () => {
    expectProblem(await create('svc@contoso.onmicrosoft.com', { environment: 'fabrikam-prod' }), 422);
    expectProblem(await create('svc@fabrikam.com'), 422);
    expectProblem(await create('svc@contoso.onmicrosoft.com', { usageLocation: 'ZZ' }), 422);
  });

  it('503 within a bounded time when Temporal cannot be reached', async () => {
    const deadPort = await freePort();
    const config = loadConfig({
      ...process.env,
      ...e2e.stack.env,
      TEMPORAL_ADDRESS: `127.0.0.1:${deadPort}`,
      TEMPORAL_CONNECT_TIMEOUT_MS: '2000',
      API_PORT: String(await freePort()),
      LOG_LEVEL: 'silent',
    });
    const app = await buildApp({ config });
    await app.listen({ host: config.api.host, port: config.api.port });
    try {
      const url = config.api.publicUrl;
      const bound = config.temporal.connectTimeoutMs + 5_000;
      const post = await call(url, 'POST', '/v1/non-interactive-users', {
        token: e2e.operator,
        body: {
          environment: 'contoso-prod',
          userPrincipalName: 'svc-e2e-503@contoso.onmicrosoft.com',
          displayName: 'x',
        },
      });
      expectProblem(post, 503);
      expect(post.ms).toBeLessThan(bound);
      expect(post.headers.get('retry-after')).toBeTruthy();
      const get = await call(url, 'GET', idPath('niu:contoso-prod:svc-e2e-503@contoso.onmicrosoft.com'), {
        token: e2e.reader,
      });
      expectProblem(get, 503);
      expect(get.ms).toBeLessThan(bound);
      const readiness = await call(url, 'GET', '/v1/environments/contoso-prod/readiness', { token: e2e.reader });
      expectProblem(readiness, 503);
      expect(readiness.ms).toBeLessThan(bound);
      const ready = await call(url, 'GET', '/readyz');
      expectProblem(ready, 503);
      expect(ready.ms).toBeLessThan(bound);
      expect((await call(url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await app.close();
    }
    expect((await call(e2e.stack.apiUrl, 'GET', '/readyz')).status).toBe(200);
  });
});

describe('OpenAPI', () => {
  it('validates against the OpenAPI 3 schema and documents every route, its security and its errors', async () => {
    const res = await call<Record<string, unknown>>(e2e.stack.apiUrl, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    const dir = mkdtempSync(path.join(os.tmpdir(), 'niu-openapi-'));
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    // The validator is an ES module that reads its schemas relative to import.meta: run it in
    // a child Node process rather than through jest's CommonJS runtime.
    const script = `import { Validator } from '@seriousme/openapi-schema-validator';
      const v = new Validator(); const r = await v.validate(process.argv[1]);
      console.log(JSON.stringify({ valid: r.valid, errors: r.errors, version: v.version }));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, file], {
      cwd: root,
    });
    const verdict = JSON.parse(stdout);
    expect(verdict.errors).toBeUndefined();
    expect(verdict.valid).toBe(true);
    expect(verdict.version).toBe('3.1');

    const expected: [string, string][] = [
      ['post', '/v1/non-interactive-users'],
      ['get', '/v1/non-interactive-users'],
      ['get', '/v1/non-interactive-users/{id}'],
      ['post', '/v1/non-interactive-users/{id}/cancel'],
      ['delete', '/v1/non-interactive-users/{id}'],
      ['get', '/v1/non-interactive-users/{id}/deprovisioning'],
      ['post', '/v1/non-interactive-users/{id}/rotate-password'],
      ['get', '/v1/non-interactive-users/{id}/password-rotation'],
      ['get', '/v1/environments'],
      ['get', '/v1/environments/{environment}/capacity'],
      ['get', '/v1/environments/{environment}/readiness'],
      ['get', '/v1/environments/{environment}/non-interactive-users'],
      ['get', '/v1/environments/{environment}/audit'],
      ['post', '/v1/environments/{environment}/audit'],
      ['get', '/healthz'],
      ['get', '/readyz'],
    ];
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => [m, p]));
    expect(documented.sort()).toEqual(expected.sort());
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [method, p] of expected.filter(([, p]) => p.startsWith('/v1'))) {
      const op = doc.paths[p]![method]!;
      expect(op.security).toEqual([{ bearerAuth: [] }]);
      for (const code of ['401', '403', '429', '500', '503']) {
        expect(op.responses[code]).toHaveProperty(['content', 'application/problem+json']);
      }
    }
    expect(Object.keys(doc.paths['/v1/non-interactive-users']!.post!.responses).sort()).toEqual(
      ['200', '202', '400', '401', '403', '409', '413', '415', '422', '429', '500', '503'].sort(),
    );
  });
});
