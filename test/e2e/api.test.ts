// Issue 5, "Done when": the REST API over real HTTP against a started stack (the jest run's
// Temporal dev server, the sandbox over HTTPS, a worker, the API on a real port), with tokens
// from the sandbox's token endpoint.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildApp } from '../../api/app';
import { loadConfig } from '../../config';
import { freePort } from '../../scripts/ports';
import { STEP_NAMES, type StatusDocument } from '../../workflows/types';
import { FAST_TIMING } from '../helpers/worker';
import { startStack, type Stack } from '../helpers/stack';
import { call, clientCredentialsToken, eventually, idPath, type ApiResponse } from '../helpers/api';

const root = path.resolve(__dirname, '../..');
const SKU = 'DYN365_ENTERPRISE_PLAN1';
let stack: Stack;
let operator: string;
let reader: string;

beforeAll(async () => {
  // A long sync timeout: some tests hold a request at await-dataverse-user on purpose.
  stack = await startStack({ name: 'api-e2e', workflowTiming: { ...FAST_TIMING, syncTimeoutMs: 180_000 } });
  operator = await stack.operatorToken();
  reader = await stack.readerToken();
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const api = <T = Record<string, unknown>>(
  method: string,
  p: string,
  options: Parameters<typeof call>[3] = {},
): Promise<ApiResponse<T>> => call<T>(stack.apiUrl, method, p, { token: operator, ...options });

const create = (upn: string, extra: Record<string, unknown> = {}) =>
  api<{ id: string; status: string; links: { self: string; cancel: string } }>('POST', '/v1/non-interactive-users', {
    body: { environment: 'contoso-prod', userPrincipalName: upn, displayName: `E2E ${upn.split('@')[0]}`, ...extra },
  });

/** Polls GET (through the URL the API handed out) until the request is no longer running. */
async function untilClosed(url: string, timeoutMs = 90_000): Promise<StatusDocument> {
  return eventually(async () => {
    const res = await call<StatusDocument>(url, 'GET', '', { token: reader });
    expect(res.status).toBe(200);
    return res.body.status === 'running' ? undefined : res.body;
  }, timeoutMs);
}

function expectProblem(res: ApiResponse, status: number): Record<string, unknown> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = res.body as Record<string, unknown>;
  expect(body).toMatchObject({
    status,
    type: expect.any(String),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(body.requestId).toBe(res.headers.get('x-request-id'));
  return body;
}

describe('provisioning over HTTP', () => {
  it('POST 202 with Location, polled to succeeded with the eight steps; the same UPN again is 409', async () => {
    const upn = 'svc-e2e-happy@contoso.onmicrosoft.com';
    const res = await create(upn, { securityRoles: ['Basic User'] });
    expect(res.status).toBe(202);
    const id = `niu:contoso-prod:${upn}`;
    expect(res.body.id).toBe(id);
    expect(res.body.status).toBe('running');
    const location = res.headers.get('location')!;
    expect(location).toBe(`${stack.apiUrl}${idPath(id)}`);
    expect(res.body.links.self).toBe(location);

    // Polling shows progress while it runs, then the outcome.
    const seenSteps = new Set<string>();
    const doc = await eventually(async () => {
      const r = await call<StatusDocument>(location, 'GET', '', { token: reader });
      expect(r.status).toBe(200);
      expect(r.body.steps.map((s) => s.name)).toEqual([...STEP_NAMES]);
      if (r.body.currentStep) seenSteps.add(r.body.currentStep);
      return r.body.status === 'running' ? undefined : r.body;
    }, 90_000);
    expect(doc.status).toBe('succeeded');
    expect(doc).toMatchObject({ id, environment: 'contoso-prod', userPrincipalName: upn, error: null });
    expect(doc.steps.map((s) => [s.name, s.status])).toEqual(STEP_NAMES.map((n) => [n, 'completed']));
    for (const step of doc.steps) {
      expect(step.attempts).toBeGreaterThanOrEqual(1);
      expect(Date.parse(step.startedAt!)).toBeLessThanOrEqual(Date.parse(step.completedAt!));
    }
    expect(doc.result?.accessMode).toBe('non-interactive');
    expect(seenSteps.size).toBeGreaterThan(0);

    // The result matches the emulated cloud: the Entra user exists, its systemuser is mode 4.
    const state = await stack.control.state();
    const user = state.users.find((u) => u.userPrincipalName === upn);
    expect(user?.id).toBe(doc.result?.entraObjectId);
    const systemUser = state.environments['contoso-prod']!.systemusers.find(
      (s) => s.systemuserid === doc.result?.systemUserId,
    );
    expect(systemUser?.accessmode).toBe(4);

    // Closed requests still answer with steps and outcome.
    const again = await api<StatusDocument>('GET', idPath(id));
    expect(again.body.status).toBe('succeeded');
    expect(again.body.result).toEqual(doc.result);

    const conflict = await create(upn);
    const problem = expectProblem(conflict, 409);
    expect(problem.type).toMatch(/already-provisioned/);
  });

  it("a UPN with every special character Microsoft allows (' . - _ ! # ^ ~) is provisioned, and its id works in URLs", async () => {
    const upn = "o'brien.svc-e2e_1!#^~@contoso.onmicrosoft.com";
    const res = await create(upn);
    expect(res.status).toBe(202);
    const location = res.headers.get('location')!;
    expect(location).toBe(`${stack.apiUrl}${idPath(`niu:contoso-prod:${upn}`)}`);
    const doc = await untilClosed(location);
    expect({ status: doc.status, error: doc.error }).toEqual({ status: 'succeeded', error: null });
    const user = (await stack.control.state()).users.find((u) => u.userPrincipalName === upn);
    expect(user?.id).toBe(doc.result?.entraObjectId);
  });

  it('held request: the same POST answers 200 with the same id; capacity counts it as reserved; cancel ends it cancelled; a new run may start after', async () => {
    const upn = 'svc-e2e-held@contoso.onmicrosoft.com';
    // Hold the request at await-dataverse-user: the user never shows up in Dataverse.
    await stack.control.config({ syncDelayMs: 600_000, licensePropagationMs: 600_000 });
    try {
      const first = await create(upn);
      expect(first.status).toBe(202);
      const id = first.body.id;
      const second = await create(upn);
      expect(second.status).toBe(200);
      expect(second.body.id).toBe(id);
      expect(second.headers.get('location')).toBe(first.headers.get('location'));

      await eventually(async () => {
        const r = await api<StatusDocument>('GET', idPath(id));
        return r.body.currentStep === 'await-dataverse-user' ? r.body : undefined;
      }, 60_000);

      // Capacity: live figures from the sandbox, plus this request's reservation.
      const state = await stack.control.state();
      const env = state.environments['contoso-prod']!;
      const capacity = await api<Record<string, number>>('GET', '/v1/environments/contoso-prod/capacity', {
        token: reader,
      });
      expect(capacity.status).toBe(200);
      expect(capacity.body).toMatchObject({
        limit: env.nonInteractiveLimit,
        used: env.nonInteractiveUsers,
        reserved: 1,
        available: Math.max(0, env.nonInteractiveLimit - env.nonInteractiveUsers - 1),
      });

      const cancel = await api<{ id: string; status: string }>('POST', `${idPath(id)}/cancel`);
      expect(cancel.status).toBe(202);
      expect(cancel.body).toMatchObject({ id, status: 'cancel-requested' });
      const doc = await untilClosed(first.headers.get('location')!);
      expect(doc.status).toBe('cancelled');
      expect(doc.error?.type).toBe('cancelled');
      expect(doc.steps.find((s) => s.name === 'create-entra-user')?.status).toBe('compensated');
      // Compensated: the account it created is gone.
      expect((await stack.control.state()).users.find((u) => u.userPrincipalName === upn)).toBeUndefined();

      expectProblem(await api('POST', `${idPath(id)}/cancel`), 409);
    } finally {
      await stack.control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
    }
    // After a cancelled attempt a new run starts and can succeed.
    const retry = await create(upn);
    expect(retry.status).toBe(202);
    expect((await untilClosed(retry.headers.get('location')!)).status).toBe('succeeded');
  });
});

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

    await stack.control.config({ tokenLifetimeSeconds: 1 });
    let expired: string;
    try {
      expired = await clientCredentialsToken(stack.sandbox.url, 'operator-client', 'operator-secret');
    } finally {
      await stack.control.config({ tokenLifetimeSeconds: 3600 });
    }
    await new Promise((r) => setTimeout(r, 3500)); // lifetime 1 s + the API's 1 s tolerance
    expect(expectProblem(await api('GET', '/v1/environments', { token: expired }), 401).detail).toMatch(/expired/);

    const graphToken = await clientCredentialsToken(
      stack.sandbox.url,
      'provisioner-client',
      'provisioner-secret',
      'https://graph.microsoft.com/.default',
    );
    expect(expectProblem(await api('GET', '/v1/environments', { token: graphToken }), 401).detail).toMatch(/audience/);

    const [h, p, s] = reader.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    claims.roles = ['NonInteractiveUsers.ReadWrite'];
    const tampered = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
    const forged = await call(stack.apiUrl, 'POST', '/v1/non-interactive-users', {
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
    const res = await call(stack.apiUrl, 'POST', '/v1/non-interactive-users', {
      token: reader,
      body: {
        environment: 'contoso-prod',
        userPrincipalName: 'svc-e2e-reader@contoso.onmicrosoft.com',
        displayName: 'x',
      },
    });
    expectProblem(res, 403);
    expectProblem(
      await call(stack.apiUrl, 'POST', `${idPath('niu:contoso-prod:x@contoso.onmicrosoft.com')}/cancel`, {
        token: reader,
      }),
      403,
    );
  });

  it('404 for an unknown id and an unknown route; 405 for a wrong method', async () => {
    expectProblem(await api('GET', idPath('niu:contoso-prod:nobody@contoso.onmicrosoft.com')), 404);
    expectProblem(await api('POST', `${idPath('niu:contoso-prod:nobody@contoso.onmicrosoft.com')}/cancel`), 404);
    expectProblem(await api('GET', '/v1/no-such-thing'), 404);
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
      ...stack.env,
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
        token: operator,
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
        token: reader,
      });
      expectProblem(get, 503);
      expect(get.ms).toBeLessThan(bound);
      const ready = await call(url, 'GET', '/readyz');
      expectProblem(ready, 503);
      expect(ready.ms).toBeLessThan(bound);
      expect((await call(url, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await app.close();
    }
    expect((await call(stack.apiUrl, 'GET', '/readyz')).status).toBe(200);
  });
});

describe('list, environments, capacity', () => {
  it('lists from visibility with environment and status filters, over more than one page', async () => {
    const upns = ['svc-e2e-list-a', 'svc-e2e-list-b', 'svc-e2e-list-c'].map((n) => `${n}@contoso.onmicrosoft.com`);
    const locations: string[] = [];
    for (const upn of upns) {
      const res = await create(upn, { environment: 'contoso-test' });
      expect(res.status).toBe(202);
      locations.push(res.headers.get('location')!);
    }
    for (const location of locations) expect((await untilClosed(location)).status).toBe('succeeded');
    const ids = upns.map((u) => `niu:contoso-test:${u}`);

    const pages = await eventually(async () => {
      const collected: { items: { id: string; environment: string; status: string }[] }[] = [];
      let token: string | null = null;
      do {
        const q = new URLSearchParams({ environment: 'contoso-test', status: 'succeeded', pageSize: '2' });
        if (token) q.set('pageToken', token);
        const res = await api<{
          items: { id: string; environment: string; status: string }[];
          nextPageToken: string | null;
        }>('GET', `/v1/non-interactive-users?${q}`, { token: reader });
        expect(res.status).toBe(200);
        collected.push(res.body);
        token = res.body.nextPageToken;
      } while (token);
      const seen = collected.flatMap((p) => p.items.map((i) => i.id));
      return ids.every((id) => seen.includes(id)) ? collected : undefined;
    }, 30_000);
    expect(pages.length).toBeGreaterThan(1);
    expect(pages[0]!.items).toHaveLength(2);
    for (const item of pages.flatMap((p) => p.items)) {
      expect(item).toMatchObject({ environment: 'contoso-test', status: 'succeeded' });
    }

    const prod = await api<{ items: { id: string; environment: string }[] }>(
      'GET',
      '/v1/non-interactive-users?environment=contoso-prod&pageSize=100',
    );
    expect(prod.body.items.length).toBeGreaterThan(0);
    expect(prod.body.items.every((i) => i.environment === 'contoso-prod')).toBe(true);
    const running = await api<{ items: { id: string }[] }>(
      'GET',
      '/v1/non-interactive-users?status=running&pageSize=100',
    );
    expect(running.body.items.map((i) => i.id)).not.toEqual(expect.arrayContaining([ids[0]]));
    // A garbled token, or one reused with other filters, is the caller's mistake: 400 at once.
    expectProblem(await api('GET', '/v1/non-interactive-users?pageToken=bm90LWEtdG9rZW4'), 400);
    const firstToken = (pages[0] as unknown as { nextPageToken: string }).nextPageToken;
    const reused = await api(
      'GET',
      `/v1/non-interactive-users?environment=contoso-prod&pageSize=2&pageToken=${firstToken}`,
    );
    expectProblem(reused, 400);
    expect(reused.ms).toBeLessThan(2000);
  });

  it('environments as configured, and capacity figures matching the sandbox', async () => {
    const envs = await api<{ items: { name: string; links: { capacity: string } }[] }>('GET', '/v1/environments', {
      token: reader,
    });
    expect(envs.status).toBe(200);
    expect(envs.body.items.map((e) => e.name)).toEqual(['contoso-prod', 'contoso-test']);
    expect(JSON.stringify(envs.body)).not.toMatch(/secret/i);

    await stack.control.config({ environments: { 'contoso-test': { nonInteractiveLimit: 7 } } });
    const state = await stack.control.state();
    const env = state.environments['contoso-test']!;
    const res = await call<Record<string, number>>(envs.body.items[1]!.links.capacity, 'GET', '', { token: reader });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      environment: 'contoso-test',
      limit: 7,
      used: env.nonInteractiveUsers,
      reserved: 0,
      available: Math.max(0, 7 - env.nonInteractiveUsers),
    });
  });
});

describe('OpenAPI', () => {
  it('validates against the OpenAPI 3 schema and documents every route, its security and its errors', async () => {
    const res = await call<Record<string, unknown>>(stack.apiUrl, 'GET', '/openapi.json');
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
      ['get', '/v1/environments'],
      ['get', '/v1/environments/{environment}/capacity'],
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

describe('command-line client', () => {
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'cli/main.ts', ...args],
        { cwd: root, env: { ...process.env, ...stack.env, NIU_POLL_MS: '200' }, timeout: 120_000 },
        (err, stdout, stderr) =>
          resolve({
            code: err ? ((err as { code?: number }).code ?? 1) : 0,
            stdout: String(stdout),
            stderr: String(stderr),
          }),
      );
    });

  it('create shows the steps live and exits 0 on success; status and list work', async () => {
    const upn = 'svc-e2e-cli@contoso.onmicrosoft.com';
    const run = await cli(['create', '--environment', 'contoso-prod', '--upn', upn, '--display-name', 'ERP (CLI)']);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/accepted: niu:contoso-prod:svc-e2e-cli@contoso\.onmicrosoft\.com/);
    for (const step of STEP_NAMES) expect(run.stdout).toMatch(new RegExp(`${step}\\s+(completed|skipped)`));
    expect(run.stdout).toMatch(/succeeded: svc-e2e-cli@contoso\.onmicrosoft\.com/);
    // Progress lines appear in step order.
    const order = STEP_NAMES.map((s) => run.stdout.indexOf(`${s}`));
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    const status = await cli(['status', `niu:contoso-prod:${upn}`]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/succeeded/);
    const list = await cli(['list', '--environment', 'contoso-prod', '--all']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`niu:contoso-prod:${upn}`);
  });

  it('exits non-zero when the request fails, and on API errors', async () => {
    await stack.control.config({ skus: { [SKU]: { seats: 0 } } });
    try {
      const run = await cli([
        'create',
        '--environment',
        'contoso-prod',
        '--upn',
        'svc-e2e-cli-fail@contoso.onmicrosoft.com',
        '--display-name',
        'No seats',
      ]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/failed: license-unavailable/);
    } finally {
      await stack.control.config({ skus: { [SKU]: { seats: 25 } } });
    }
    const bad = await cli([
      'create',
      '--environment',
      'nowhere',
      '--upn',
      'svc@contoso.onmicrosoft.com',
      '--display-name',
      'x',
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/422/);
    const usage = await cli(['create', '--environment', 'contoso-prod']);
    expect(usage.code).toBe(2);
  });
});
