// Fault-injection suite: the whole service as real processes (worker/main.ts and
// api/main.ts as children, the sandbox in this process, a real Temporal dev server), 30
// requests per scenario submitted and followed through the REST API as clients would, while
// something breaks: the worker is SIGKILLed three times, the Temporal server is killed and
// restarted on its database file, every Microsoft service throttles, fails and slows down, the
// API process is killed. Each scenario then checks the sandbox: every account exists once, is
// in access mode 4, holds no license, and the seats are back where they started.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { freePort } from '../../scripts/ports';
import { startDevServer, type DevServer } from '../../scripts/temporal-server';
import { clientCredentialsToken, idPath } from '../helpers/api';
import { killAll, spawnApi, spawnWorker, type ApiProcess, type WorkerProcess } from '../helpers/processes';
import { SKU_PART, type RequestLogEntry, type SandboxStateDoc } from '../helpers/sandbox';
import { FAST_SYNC, FAST_TIMING, testTaskQueue } from '../helpers/worker';
import { useSandbox } from '../helpers/lifecycle';
import type { StatusDocument } from '../../workflows/types';

const N = 30;
const ENV = 'contoso-prod';
// Short waits as in the other e2e tests, but room for the faults: a stranded activity is only
// retried after its start-to-close timeout, and throttling stretches every step.
const TIMING = { ...FAST_TIMING, syncTimeoutMs: 180_000, stepRetryWindowMs: 180_000 };

const { sandbox, control } = useSandbox({
  // Enough room for 30 at once: the limit and the seats are not what these tests are about.
  reset: { ...FAST_SYNC, environments: { [ENV]: { nonInteractiveLimit: 100 } }, skus: { [SKU_PART]: { seats: 100 } } },
});
let token: string;
beforeAll(async () => {
  token = await clientCredentialsToken(sandbox.url, 'operator-client', 'operator-secret');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the clients saw, for the assertions. */
interface ClientLog {
  ids: Map<string, string>;
  finals: Map<string, StatusDocument>;
  /** Answers that would mean a lost request: 404 for an id the API had accepted. */
  lost: string[];
  /** Calls that failed on the way (connection refused, 503) and were retried. */
  retried: number;
}

/**
 * One client per UPN: submits the request (again after a network error or a 5xx: the API
 * answers the same request with the same id), then polls its status until it is final.
 */
async function runClients(apiUrl: () => string, upns: string[], deadlineMs: number): Promise<ClientLog> {
  const run = startClients(apiUrl, upns, deadlineMs);
  await run.done;
  return run.log;
}

/** The same, returning at once: `log` fills while the clients run, `done` settles at the end. */
function startClients(
  apiUrl: () => string,
  upns: string[],
  deadlineMs: number,
): { log: ClientLog; done: Promise<void> } {
  const log: ClientLog = { ids: new Map(), finals: new Map(), lost: [], retried: 0 };
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const until = Date.now() + deadlineMs;
  const http = async (method: string, p: string, body?: unknown): Promise<{ status: number; body: unknown } | null> => {
    try {
      const res = await fetch(apiUrl() + p, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    } catch {
      return null; // connection refused or reset: the API is restarting
    }
  };
  const done = Promise.all(
    upns.map(async (upn, i) => {
      await sleep(i * 50); // a burst, not one instant
      let id: string | undefined;
      let lostAnswer = false;
      while (!id) {
        if (Date.now() > until) throw new Error(`${upn}: not accepted before the deadline`);
        const res = await http('POST', '/v1/non-interactive-users', {
          environment: ENV,
          userPrincipalName: upn,
          displayName: `Fault test ${upn.split('@')[0]}`,
        });
        const body = res?.body as { id?: string; type?: string } | null;
        if (res && (res.status === 202 || res.status === 200)) id = body!.id;
        // A POST the killed API accepted but never answered: by the retry the request may already
        // have finished, and the retry is told so, with the request's id (checked below).
        else if (lostAnswer && res?.status === 409 && body?.type?.endsWith('/already-provisioned')) id = body.id;
        else if (!res || res.status >= 500) {
          lostAnswer = true;
          log.retried++;
          await sleep(250);
        } else throw new Error(`${upn}: POST answered ${res.status} ${JSON.stringify(res.body)}`);
      }
      log.ids.set(upn, id);
      let last: unknown;
      for (;;) {
        if (Date.now() > until) throw new Error(`${upn}: not finished before the deadline: ${JSON.stringify(last)}`);
        // Every 2 s, as a patient client would: each status read is a query the worker answers.
        await sleep(2_000);
        const res = await http('GET', idPath(id));
        if (!res || res.status >= 500) {
          log.retried++;
          continue;
        }
        if (res.status === 404) {
          log.lost.push(id);
          continue;
        }
        expect(res.status).toBe(200);
        const doc = res.body as StatusDocument;
        last = { step: doc.currentStep, steps: doc.steps.filter((x) => x.status !== 'pending') };
        if (doc.status !== 'running') {
          log.finals.set(upn, doc);
          return;
        }
      }
    }),
  ).then(() => undefined);
  return { log, done };
}

function upnsFor(scenario: string): string[] {
  return Array.from({ length: N }, (_, i) => `svc-${scenario}-${String(i).padStart(2, '0')}@contoso.onmicrosoft.com`);
}

/** Every request succeeded once: one account each, mode 4, unlicensed, seats back, nothing deleted. */
function expectProvisionedOnce(log: ClientLog, upns: string[], before: SandboxStateDoc, after: SandboxStateDoc): void {
  expect(log.lost).toEqual([]);
  const failed = [...log.finals].filter(([, d]) => d.status !== 'succeeded').map(([u, d]) => `${u}: ${d.error?.type}`);
  expect(failed).toEqual([]);
  expect(log.finals.size).toBe(N);
  const systemusers = after.environments[ENV]!.systemusers;
  for (const upn of upns) {
    const accounts = after.users.filter((u) => u.userPrincipalName.toLowerCase() === upn);
    expect(accounts).toHaveLength(1); // no duplicate account
    const account = accounts[0]!;
    expect(account.assignedLicenses ?? []).toEqual([]); // no license left
    expect(log.finals.get(upn)!.result?.entraObjectId).toBe(account.id);
    const su = systemusers.filter((s) => s.azureactivedirectoryobjectid === account.id);
    expect(su).toHaveLength(1);
    expect(su[0]!.accessmode).toBe(4);
  }
  // Nothing was created and then deleted again (a second account compensated away).
  expect(after.deletedUsers.filter((u) => upns.includes(u.userPrincipalName.toLowerCase()))).toEqual([]);
  const seats = (s: SandboxStateDoc) => s.skus.find((k) => k.skuPartNumber === SKU_PART)!.consumedUnits;
  expect(seats(after)).toBe(seats(before));
  expect(after.environments[ENV]!.nonInteractiveUsers).toBe(before.environments[ENV]!.nonInteractiveUsers + N);
}

test('the worker SIGKILLed three times at random moments and restarted: 30 requests all succeed exactly once', async () => {
  const taskQueue = testTaskQueue('faults-kill');
  const upns = upnsFor('kill');
  const before = await control.state();
  const workers: WorkerProcess[] = [];
  let api: ApiProcess | undefined;
  try {
    const start = async () => {
      const w = await spawnWorker({ sandboxUrl: sandbox.url, taskQueue });
      workers.push(w);
      await w.ready();
      return w;
    };
    let worker = await start();
    api = await spawnApi({ sandboxUrl: sandbox.url, taskQueue, workflowTiming: TIMING });
    const url = api.url;
    const clients = runClients(() => url, upns, 170_000);
    // Kill moments spread over the first seconds of the run, while activities are in flight.
    const seed = Date.now();
    const moments = [0, 1, 2].map(() => 1_000 + Math.floor(Math.random() * 3_000));
    process.stdout.write(`worker kill moments (ms after each start), seed ${seed}: ${moments.join(', ')}\n`);
    for (const ms of moments) {
      await sleep(ms);
      const exit = await worker.kill('SIGKILL');
      expect(exit.signal).toBe('SIGKILL');
      worker = await start();
    }
    const log = await clients;
    expectProvisionedOnce(log, upns, before, await control.state());
    expect(workers).toHaveLength(4);
  } finally {
    await killAll([...workers, api]);
  }
}, 200_000);

test('the Temporal server killed and restarted on the same database file mid-run: every request completes', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niu-faults-'));
  const dbFile = path.join(dir, 'temporal.db');
  const [port, uiPort] = [await freePort(), await freePort()];
  let server: DevServer | undefined = await startDevServer({ port, uiPort, dbFile });
  const taskQueue = testTaskQueue('faults-server');
  const upns = upnsFor('server');
  const before = await control.state();
  let worker: WorkerProcess | undefined;
  let api: ApiProcess | undefined;
  try {
    worker = await spawnWorker({ sandboxUrl: sandbox.url, taskQueue, temporalAddress: server.address });
    await worker.ready();
    api = await spawnApi({
      sandboxUrl: sandbox.url,
      taskQueue,
      temporalAddress: server.address,
      workflowTiming: TIMING,
    });
    const url = api.url;
    const running = startClients(() => url, upns, 170_000);
    // Wait until all 30 are accepted and under way, then pull the server away.
    await sleep(3_000);
    const log = running.log;
    expect(log.ids.size).toBe(N);
    const finishedBefore = log.finals.size;
    await server.stop('SIGKILL');
    server = undefined;
    await sleep(2_000);
    server = await startDevServer({ port, uiPort, dbFile });
    await running.done;
    expect(finishedBefore).toBeLessThan(N); // it was mid-run
    expectProvisionedOnce(log, upns, before, await control.state());
    expect(worker.running()).toBe(true); // the worker rode it out
    expect(api.running()).toBe(true);
  } finally {
    await killAll([worker, api]);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 200_000);

test('30 % 429 with Retry-After, 10 % 503 and 200 ms latency on every Microsoft service: every request completes, with back-off', async () => {
  const RETRY_AFTER_S = 2;
  /** The retry policy's initialInterval (workflows/provision.ts): the earliest any retry comes. */
  const INITIAL_RETRY_MS = 1_000;
  const services = ['entra', 'graph', 'dataverse', 'powerplatform', 'keyvault'] as const;
  const taskQueue = testTaskQueue('faults-throttle');
  const upns = upnsFor('throttle');
  let worker: WorkerProcess | undefined;
  let api: ApiProcess | undefined;
  try {
    // Users reach Dataverse only through addUser (the background sync would take a minute), which
    // answers "not licensed" for the first second: every request forces the sync a few times, so
    // the Power Platform admin API gets enough calls to meet its share of the faults. (A look that
    // finds the user makes no addUser call, and the background sync alone brought many users
    // before their first look: 40 calls in one run, 3 of them answered 503.)
    await control.config({ syncDelayMs: 60_000, licensePropagationMs: 1_000 });
    const before = await control.state();
    // Default configuration: no vault (KEYVAULT_URL unset), so Key Vault's faults are set but
    // never met. (With a vault, creating the account makes six faulted calls in one attempt and
    // succeeds one attempt in twenty: correct, but minutes longer than this suite may take.)
    worker = await spawnWorker({ sandboxUrl: sandbox.url, taskQueue });
    await worker.ready();
    api = await spawnApi({ sandboxUrl: sandbox.url, taskQueue, workflowTiming: TIMING });
    const url = api.url;
    const warm = await fetch(`${url}/v1/environments`, { headers: { authorization: `Bearer ${token}` } });
    expect(warm.status).toBe(200);
    // The first matching fault wins (sandbox/faults.ts): 30 % throttled, then 10 % of all (1/7 of
    // the remaining 70 %) unavailable, and the rest only slowed down; every answer comes late.
    await control.faults(
      services.flatMap((service) => {
        // Entra: the token endpoint the worker uses. (The API's own token check reads the signing
        // keys from Entra too; it fetched them above, before the faults, and keeps them cached.)
        const path = service === 'entra' ? '/oauth2/v2.0/token' : undefined;
        return [
          { service, path, status: 429, rate: 0.3, retryAfterSeconds: RETRY_AFTER_S, delayMs: 200 },
          { service, path, status: 503, rate: 0.1 / 0.7, delayMs: 200 },
          { service, path, delayMs: 200 },
        ];
      }),
    );
    const log = await runClients(() => url, upns, 230_000);
    await control.clearFaults();
    expectProvisionedOnce(log, upns, before, await control.state());

    const requests = await control.requests();
    // Only the worker calls Microsoft here (the API's key fetch happened before the faults).
    // Faulted answers carry no client id: the fault fires before the token is looked at.
    const worked = requests.filter((r) => r.service !== 'control');
    // Entra: the worker asks for a token per audience and caches it, a handful of requests in
    // all; each met a fault (every one is at least delayed), but 429 and 503 are left to chance.
    const tokenRequests = worked.filter((r) => r.service === 'entra' && /oauth2\/v2.0\/token/.test(r.path));
    expect(tokenRequests.length).toBeGreaterThan(0);
    expect(tokenRequests.filter((r) => r.fault === null)).toEqual([]);
    for (const service of ['graph', 'dataverse', 'powerplatform']) {
      const mine = worked.filter((r) => r.service === service);
      expect({ service, throttled: mine.some((r) => r.status === 429) }).toEqual({ service, throttled: true });
      expect({ service, unavailable: mine.some((r) => r.status === 503) }).toEqual({ service, unavailable: true });
    }
    // The back-off: a throttled call on one user's own resource comes again only after the
    // Retry-After it was given, not at the 1 s initial retry interval.
    // A same-path call sooner than the 1 s initial retry interval cannot be Temporal's retry of
    // the throttled call (no retry comes before that interval), so it is not counted as one:
    // such a pair was seen once in CI (715 ms) and is not yet traced to its caller. A retry that
    // ignored Retry-After would come at the 1 s interval and is still caught below.
    const gaps = retryGaps(worked, 429).filter((g) => g.gapMs >= INITIAL_RETRY_MS - 50);
    expect(gaps.length).toBeGreaterThan(10);
    const early = gaps.filter((g) => g.gapMs < RETRY_AFTER_S * 1000 - 50);
    expect(early).toEqual([]);
  } finally {
    await control.clearFaults();
    await killAll([worker, api]);
  }
}, 260_000);

/**
 * For each answer with `status` on a path that names one user (a GUID: no other request
 * touches it), the time until the same method and path came again.
 */
function retryGaps(entries: RequestLogEntry[], status: number): { path: string; gapMs: number }[] {
  const guid = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
  const out: { path: string; gapMs: number }[] = [];
  entries.forEach((e, i) => {
    if (e.status !== status || !guid.test(e.path) || e.service === 'keyvault') return;
    const next = entries.slice(i + 1).find((n) => n.method === e.method && n.path === e.path);
    if (!next) return;
    const answeredAt = Date.parse(e.at) + e.durationMs;
    out.push({ path: `${e.method} ${e.path}`, gapMs: Date.parse(next.at) - answeredAt });
  });
  return out;
}

test('the API process killed and started again mid-run: clients polling status see no lost request', async () => {
  const taskQueue = testTaskQueue('faults-api');
  const upns = upnsFor('api');
  const before = await control.state();
  let worker: WorkerProcess | undefined;
  let api: ApiProcess | undefined;
  const apis: ApiProcess[] = [];
  try {
    worker = await spawnWorker({ sandboxUrl: sandbox.url, taskQueue });
    await worker.ready();
    api = await spawnApi({ sandboxUrl: sandbox.url, taskQueue, workflowTiming: TIMING });
    apis.push(api);
    const { port, url } = api;
    const clients = runClients(() => url, upns, 170_000);
    // Mid-submission: some requests accepted, others still to come.
    await sleep(800);
    expect((await api.kill('SIGKILL')).signal).toBe('SIGKILL');
    await sleep(1_000);
    api = await spawnApi({ sandboxUrl: sandbox.url, taskQueue, port, workflowTiming: TIMING });
    apis.push(api);
    const log = await clients;
    expect(log.retried).toBeGreaterThan(0); // the clients did see the API gone
    expectProvisionedOnce(log, upns, before, await control.state());
  } finally {
    await killAll([worker, ...apis]);
  }
}, 200_000);
