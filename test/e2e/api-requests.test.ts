// Provisioning through the REST API over real HTTP, against a stack of its own (the jest run's
// Temporal dev server, the sandbox over HTTPS, a worker, the API on a real port) with tokens from
// the sandbox's token endpoint: a request followed to its end, a held one repeated, counted in
// capacity and cancelled, a request made with tokens of each form Entra issues (v1.0, v2.0), and
// the list, environment and capacity reads.
import { decodeJwt } from 'jose';
import { STEP_NAMES, type StatusDocument } from '../../workflows/types';
import { call, clientCredentialsToken, eventually, idPath } from '../helpers/api';
import { expectProblem } from '../helpers/api-app';
import { useApiStack } from '../helpers/api-stack';
import { FAST_TIMING } from '../helpers/worker';

// A long sync timeout: a test holds a request at await-dataverse-user on purpose.
const e2e = useApiStack({ name: 'api-requests', workflowTiming: { ...FAST_TIMING, syncTimeoutMs: 180_000 } });
const { api, create, untilClosed } = e2e;

describe('provisioning over HTTP', () => {
  it('POST 202 with Location, polled to succeeded with the eight steps; the same UPN again is 409', async () => {
    const upn = 'svc-e2e-happy@contoso.onmicrosoft.com';
    const res = await create(upn, { securityRoles: ['Basic User'] });
    expect(res.status).toBe(202);
    const id = `niu:contoso-prod:${upn}`;
    expect(res.body.id).toBe(id);
    expect(res.body.status).toBe('running');
    const location = res.headers.get('location')!;
    expect(location).toBe(`${e2e.stack.apiUrl}${idPath(id)}`);
    expect(res.body.links.self).toBe(location);

    // Polling shows progress while it runs, then the outcome.
    const seenSteps = new Set<string>();
    const doc = await eventually(async () => {
      const r = await call<StatusDocument>(location, 'GET', '', { token: e2e.reader });
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
    const state = await e2e.stack.control.state();
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
    expect(location).toBe(`${e2e.stack.apiUrl}${idPath(`niu:contoso-prod:${upn}`)}`);
    const doc = await untilClosed(location);
    expect({ status: doc.status, error: doc.error }).toEqual({ status: 'succeeded', error: null });
    const user = (await e2e.stack.control.state()).users.find((u) => u.userPrincipalName === upn);
    expect(user?.id).toBe(doc.result?.entraObjectId);
  });

  it('held request: the same POST answers 200 with the same id; capacity counts it as reserved; cancel ends it cancelled; a new run may start after', async () => {
    const upn = 'svc-e2e-held@contoso.onmicrosoft.com';
    // Hold the request at await-dataverse-user: the user never shows up in Dataverse.
    await e2e.stack.control.config({ syncDelayMs: 600_000, licensePropagationMs: 600_000 });
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
      const state = await e2e.stack.control.state();
      const env = state.environments['contoso-prod']!;
      const capacity = await api<Record<string, number>>('GET', '/v1/environments/contoso-prod/capacity', {
        token: e2e.reader,
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
      expect((await e2e.stack.control.state()).users.find((u) => u.userPrincipalName === upn)).toBeUndefined();

      expectProblem(await api('POST', `${idPath(id)}/cancel`), 409);
    } finally {
      await e2e.stack.control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
    }
    // After a cancelled attempt a new run starts and can succeed.
    const retry = await create(upn);
    expect(retry.status).toBe(202);
    expect((await untilClosed(retry.headers.get('location')!)).status).toBe('succeeded');
  });
});

describe("the API's token forms", () => {
  it('a request made with a v2.0 token from the sandbox and followed with v1.0 tokens succeeds', async () => {
    const { sandbox, control } = e2e.stack;
    // The stack's tokens are v1.0, Entra's default for an API.
    expect(decodeJwt(e2e.reader)).toMatchObject({
      iss: `https://sts.windows.net/${sandbox.tenantId}/`,
      aud: 'api://noninteractive-users',
      ver: '1.0',
    });
    await control.config({ apiTokenVersion: 2 });
    let v2: string;
    try {
      v2 = await clientCredentialsToken(sandbox.url, 'operator-client', 'operator-secret');
    } finally {
      await control.config({ apiTokenVersion: 1 });
    }
    expect(decodeJwt(v2)).toMatchObject({
      iss: `${sandbox.url}/${sandbox.tenantId}/v2.0`,
      aud: sandbox.apiClientId,
      azp: 'operator-client',
      ver: '2.0',
    });
    const created = await call<{ id: string }>(e2e.stack.apiUrl, 'POST', '/v1/non-interactive-users', {
      token: v2,
      body: { environment: 'contoso-test', userPrincipalName: 'svc-e2e-v2@contoso.onmicrosoft.com', displayName: 'v2' },
    });
    expect(created.status).toBe(202);
    const doc = await untilClosed(created.headers.get('location')!);
    expect({ status: doc.status, error: doc.error }).toEqual({ status: 'succeeded', error: null });
    // A v2.0 token reads as well as it writes.
    expect((await call(created.headers.get('location')!, 'GET', '', { token: v2 })).status).toBe(200);
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
        }>('GET', `/v1/non-interactive-users?${q}`, { token: e2e.reader });
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
      token: e2e.reader,
    });
    expect(envs.status).toBe(200);
    expect(envs.body.items.map((e) => e.name)).toEqual(['contoso-prod', 'contoso-test']);
    expect(JSON.stringify(envs.body)).not.toMatch(/secret/i);

    await e2e.stack.control.config({ environments: { 'contoso-test': { nonInteractiveLimit: 9 } } });
    const state = await e2e.stack.control.state();
    const env = state.environments['contoso-test']!;
    const res = await call<Record<string, number>>(envs.body.items[1]!.links.capacity, 'GET', '', {
      token: e2e.reader,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      environment: 'contoso-test',
      limit: 9,
      used: env.nonInteractiveUsers,
      reserved: 0,
      available: Math.max(0, 9 - env.nonInteractiveUsers),
    });
  });
});
