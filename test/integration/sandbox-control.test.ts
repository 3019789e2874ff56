// Contract tests of the sandbox's control API: state, reset (tokens stay valid), config,
// fault injection (429 with Retry-After, 503, latency, count, rate, `after` for a lost
// response) checked through the request log, loopback-only access, and state persistence.
import { request } from 'node:https';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SecretClient } from '@azure/keyvault-secrets';

import {
  DOMAIN,
  GRAPH_SCOPE,
  POWERPLATFORM_SCOPE,
  SKU_PART,
  SandboxControlError,
  addUser,
  caught,
  createUser,
  credential,
  dataverseClient,
  graphClient,
  graphClientWithToken,
  license,
  sandboxControl,
  startTestSandbox,
  testCertDir,
} from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';

const { sandbox, control, graph } = useSandbox({ reset: true });

async function controlError(promise: Promise<unknown>) {
  const err = await caught(promise);
  expect(err).toBeInstanceOf(SandboxControlError);
  return { status: err.status as number, body: err.body as { error: { message: string } } };
}

describe('state, reset and config', () => {
  test('the state shows the seed: tenant, SKUs, environments with roles, business units and the application user', async () => {
    const state = await control.state();
    expect(state.tenant).toEqual({ id: sandbox.tenantId, name: 'contoso.onmicrosoft.com', verifiedDomains: [DOMAIN] });
    expect(state.skus.find((s) => s.skuPartNumber === SKU_PART)).toMatchObject({
      skuId: 'ea126fc5-a19e-42e2-a731-da9d437bffcf',
      seats: 25,
      consumedUnits: 0,
      available: 25,
    });
    expect(Object.keys(state.environments)).toEqual(['contoso-prod', 'contoso-test']);
    for (const env of Object.values(state.environments)) {
      expect(env.nonInteractiveLimit).toBe(7);
      expect(env.nonInteractiveUsers).toBe(0);
      expect([...new Set(env.roles.map((r) => r.name))].sort()).toEqual([
        'Basic User',
        'Integration User',
        'System Administrator',
      ]);
      expect(env.businessUnits.filter((b) => b._parentbusinessunitid_value === null)).toHaveLength(1);
      expect(env.systemusers).toEqual([
        expect.objectContaining({ applicationid: 'provisioner-client', accessmode: 4 }),
      ]);
    }
    expect(state.clients.map((c) => c.clientId)).toEqual(['provisioner-client', 'operator-client', 'reader-client']);
    expect(state.users).toEqual([]);
  });

  test('reset restores data and settings but keeps signing keys: tokens issued before stay valid', async () => {
    const token = (await credential(sandbox).getToken(GRAPH_SCOPE)).token;
    await control.config({ syncDelayMs: 1, skus: { [SKU_PART]: { seats: 3 } } });
    await createUser(graph, `before-reset@${DOMAIN}`);
    await control.reset();
    const state = await control.state();
    expect(state.users).toEqual([]);
    expect(state.settings.syncDelayMs).toBe(5_000);
    expect(state.skus.find((s) => s.skuPartNumber === SKU_PART)!.seats).toBe(25);
    const users = (await graphClientWithToken(sandbox, token).api('/users').get()) as { value: unknown[] };
    expect(users.value).toEqual([]);
  });

  test('PATCH config validates every field and applies nothing when one is wrong', async () => {
    const applied = await control.config({
      syncDelayMs: 10,
      licensePropagationMs: 20,
      revertWindowMs: 30,
      environments: { 'contoso-test': { nonInteractiveLimit: 9 } },
      skus: { [SKU_PART]: { seats: 2 } },
    });
    expect(applied).toMatchObject({
      syncDelayMs: 10,
      licensePropagationMs: 20,
      revertWindowMs: 30,
      environments: { 'contoso-prod': { nonInteractiveLimit: 7 }, 'contoso-test': { nonInteractiveLimit: 9 } },
      skus: { [SKU_PART]: { seats: 2 } },
    });
    expect(await control.getConfig()).toEqual(applied);
    const bad = await controlError(
      control.config({ syncDelayMs: 99, environments: { 'contoso-dev': { nonInteractiveLimit: 1 } } }),
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe("environments: unknown environment 'contoso-dev'");
    expect((await control.getConfig()).syncDelayMs).toBe(10);
    expect((await controlError(control.config({ syncDelayMs: -1 }))).body.error.message).toMatch(/syncDelayMs/);
    expect((await controlError(control.config({ skus: { NOPE: { seats: 1 } } }))).body.error.message).toMatch(/NOPE/);
  });

  test('faults are validated', async () => {
    const wrongService = await controlError(control.faults([{ service: 'sharepoint' as never, status: 500 }]));
    expect(wrongService.body.error.message).toMatch(/faults\[0\]\.service must be one of/);
    const badRegex = await controlError(control.faults([{ service: 'graph', path: '(', status: 500 }]));
    expect(badRegex.body.error.message).toMatch(/faults\[0\]\.path is not a valid regular expression/);
    const nothing = await controlError(control.faults([{ service: 'graph' }]));
    expect(nothing.body.error.message).toMatch(/needs a status or a delayMs/);
  });
});

describe('fault injection, checked through the request log', () => {
  test('429 with Retry-After: the Graph SDK waits as told and succeeds on the third attempt', async () => {
    await control.faults([
      { service: 'graph', method: 'GET', path: '^/v1.0/subscribedSkus', status: 429, retryAfterSeconds: 1, count: 2 },
    ]);
    const skus = (await graph.api('/subscribedSkus').get()) as { value: unknown[] };
    expect(skus.value.length).toBeGreaterThan(0);
    const log = await control.requests({ service: 'graph', path: 'subscribedSkus' });
    expect(log.map((e) => e.status)).toEqual([429, 429, 200]);
    expect(log.map((e) => e.fault?.status ?? null)).toEqual([429, 429, null]);
    expect(log.every((e) => e.clientId === 'provisioner-client' || e.fault)).toBe(true);
    const times = log.map((e) => Date.parse(e.at));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(950);
    expect((await control.listFaults()).faults[0]).toMatchObject({ hits: 2, remaining: 0 });
    // The control API's own calls are not logged.
    expect((await control.requests()).filter((e) => e.service === 'control')).toEqual([]);
  });

  test('the throttling answer carries Retry-After and each service’s error body', async () => {
    await control.faults([
      { service: 'graph', status: 429, retryAfterSeconds: 7 },
      { service: 'dataverse', status: 429, retryAfterSeconds: 3 },
      { service: 'entra', status: 503 },
    ]);
    const g = await fetch(`${sandbox.url}/v1.0/users`);
    expect(g.status).toBe(429);
    expect(g.headers.get('retry-after')).toBe('7');
    expect(((await g.json()) as { error: { code: string } }).error.code).toBe('TooManyRequests');
    const d = await fetch(`${sandbox.url}/dataverse/contoso-prod/api/data/v9.2/systemusers`);
    expect(d.headers.get('retry-after')).toBe('3');
    expect(((await d.json()) as { error: { code: string } }).error.code).toBe('0x80072322');
    const e = await fetch(`${sandbox.url}/${sandbox.tenantName}/oauth2/v2.0/token`, { method: 'POST' });
    expect(e.status).toBe(503);
    expect(((await e.json()) as { error: string }).error).toBe('temporarily_unavailable');
  });

  test('503 on Dataverse reaches dynamics-web-api; with count 1 the next call succeeds', async () => {
    await control.faults([{ service: 'dataverse', path: 'RetrieveOrganizationResources', status: 503, count: 1 }]);
    const dv = dataverseClient(sandbox, 'contoso-prod');
    const err = await caught(dv.callFunction('RetrieveOrganizationResources'));
    expect(err.status).toBe(503);
    await dv.callFunction('RetrieveOrganizationResources');
    const log = await control.requests({ service: 'dataverse' });
    expect(log.map((e) => [e.status, e.fault?.status ?? null])).toEqual([
      [503, 503],
      [200, null],
    ]);
  });

  test('delayMs adds latency without changing the answer', async () => {
    await control.faults([{ service: 'dataverse', method: 'GET', delayMs: 400, count: 1 }]);
    const dv = dataverseClient(sandbox, 'contoso-prod');
    const started = Date.now();
    await dv.callFunction('WhoAmI');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    const fast = Date.now();
    await dv.callFunction('WhoAmI');
    expect(Date.now() - fast).toBeLessThan(400);
    const log = await control.requests({ service: 'dataverse' });
    expect(log[0]).toMatchObject({ status: 200, fault: { delayMs: 400, status: null } });
    expect(log[0]!.durationMs).toBeGreaterThanOrEqual(400);
    expect(log[1]!.fault).toBeNull();
  });

  test('count limits the hits: 503 twice on addUser, then the real answer', async () => {
    await control.faults([{ service: 'powerplatform', method: 'POST', path: '/addUser', status: 503, count: 2 }]);
    const token = (await credential(sandbox).getToken(POWERPLATFORM_SCOPE)).token;
    const id = '00000000-0000-0000-0000-000000000001';
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await addUser(sandbox, 'contoso-prod', id, token)).status);
    expect(statuses).toEqual([503, 503, 404]);
    expect((await control.requests({ service: 'powerplatform' })).filter((e) => e.fault)).toHaveLength(2);
  });

  test('rate: 0 never fires, 1 always fires, 0.5 fires on about half of the requests', async () => {
    const run = async (rate: number, n: number) => {
      await control.clearRequests();
      await control.faults([{ service: 'graph', path: '^/v1.0/organization', status: 503, rate }]);
      const token = (await credential(sandbox).getToken(GRAPH_SCOPE)).token;
      const statuses = await Promise.all(
        Array.from({ length: n }, () =>
          fetch(`${sandbox.url}/v1.0/organization`, { headers: { authorization: `Bearer ${token}` } }).then(
            (r) => r.status,
          ),
        ),
      );
      const log = await control.requests({ service: 'graph' });
      expect(log.filter((e) => e.fault).length).toBe(statuses.filter((s) => s === 503).length);
      expect((await control.listFaults()).faults[0]!.hits).toBe(statuses.filter((s) => s === 503).length);
      return statuses.filter((s) => s === 503).length;
    };
    expect(await run(0, 20)).toBe(0);
    expect(await run(1, 20)).toBe(20);
    const half = await run(0.5, 200);
    expect(half).toBeGreaterThan(50);
    expect(half).toBeLessThan(150);
  });

  test('after: the request takes effect, the answer is lost; the retry then meets ObjectConflict', async () => {
    await control.faults([
      { service: 'graph', method: 'POST', path: '^/v1.0/users$', status: 500, count: 1, after: true },
    ]);
    const upn = `lost@${DOMAIN}`;
    const first = await caught(createUser(graph, upn));
    expect(first.statusCode).toBe(500);
    expect((await control.state()).users.map((u) => u.userPrincipalName)).toEqual([upn]);
    const retry = await caught(createUser(graph, upn));
    expect(retry.statusCode).toBe(400);
    expect((retry.body as { details: { code: string }[] }).details[0]!.code).toBe('ObjectConflict');
    const log = await control.requests({ service: 'graph', method: 'POST' });
    expect(log.map((e) => [e.status, e.fault?.after ?? null])).toEqual([
      [500, true],
      [400, null],
    ]);
  });

  test('keyvault faults: SecretClient retries a 429 honouring Retry-After', async () => {
    await control.faults([{ service: 'keyvault', method: 'PUT', status: 429, retryAfterSeconds: 1, count: 1 }]);
    const client = new SecretClient(
      sandbox.url,
      credential(sandbox, 'provisioner-client', undefined, sandbox.tenantId),
      {
        disableChallengeResourceVerification: true,
      },
    );
    await client.setSecret('throttled', 'v');
    const puts = await control.requests({ service: 'keyvault', method: 'PUT' });
    // The fault meets the first (unauthenticated) attempt; after Retry-After the client gets the
    // challenge, then succeeds with a token.
    expect(puts.map((e) => [e.status, e.fault?.status ?? null])).toEqual([
      [429, 429],
      [401, null],
      [200, null],
    ]);
    expect(Date.parse(puts[1]!.at) - Date.parse(puts[0]!.at)).toBeGreaterThanOrEqual(950);
  });

  test('license seats and the request log see one user licensed through all this', async () => {
    await control.faults([{ service: 'graph', method: 'POST', path: 'assignLicense', status: 503, count: 1 }]);
    const id = await createUser(graph, `seat@${DOMAIN}`);
    await license(graph, id); // the SDK retries the 503
    const state = await control.state();
    expect(state.skus.find((s) => s.skuPartNumber === SKU_PART)!.consumedUnits).toBe(1);
    const log = await control.requests({ path: 'assignLicense' });
    expect(log.map((e) => e.status)).toEqual([503, 200]);
  });
});

describe('access and persistence', () => {
  /** Calls the control API through a given local address (hostname check relaxed: the cert is for loopback). */
  function controlVia(address: string, port: number): Promise<number> {
    const ca = readFileSync(path.join(testCertDir(), 'ca.pem'));
    return new Promise((resolve, reject) => {
      const req = request(
        { host: address, port, path: '/_sandbox/state', method: 'GET', ca, checkServerIdentity: () => undefined },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

  (external ? test : test.skip)('the control API answers only on loopback', async () => {
    const open = await startTestSandbox({ host: '0.0.0.0' });
    try {
      expect(await controlVia('127.0.0.1', open.port)).toBe(200);
      expect(await controlVia(external!, open.port)).toBe(403);
    } finally {
      await open.close();
    }
  });

  test('with a state file, users and tokens survive a restart on the same port', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'niu-sandbox-'));
    const stateFile = path.join(dir, 'state.json');
    const first = await startTestSandbox({ stateFile });
    const token = (await credential(first).getToken(GRAPH_SCOPE)).token;
    const id = await createUser(graphClient(first), `kept@${DOMAIN}`);
    await sandboxControl(first.url).config({ syncDelayMs: 1234 });
    await first.close();
    const second = await startTestSandbox({ stateFile, port: first.port });
    try {
      const state = await sandboxControl(second.url).state();
      expect(state.users.map((u) => u.id)).toEqual([id]);
      expect(state.settings.syncDelayMs).toBe(1234);
      const user = (await graphClientWithToken(second, token).api(`/users/${id}`).get()) as {
        userPrincipalName: string;
      };
      expect(user.userPrincipalName).toBe(`kept@${DOMAIN}`);
    } finally {
      await second.close();
    }
  });

  test('an unknown path is 404', async () => {
    const res = await fetch(`${sandbox.url}/`);
    expect(res.status).toBe(404);
    const ctl = await fetch(`${sandbox.url}/_sandbox/nothing`);
    expect(ctl.status).toBe(404);
  });
});
