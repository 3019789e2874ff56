// The service on the self-hosted cluster (PostgreSQL, Temporal Server with 4 history shards:
// test/helpers/cluster-setup.ts) as a deployment with replicas runs it: two workers on one task
// queue and two APIs, real processes, the sandbox over HTTPS. First the drift audit's schedules:
// two workers starting at once make one per environment, and they run. Then requests in two
// environments whose limits are lowered, so that some must be refused, spread over both APIs
// while one worker is SIGKILLed during the sync wait (and started again), the Temporal server
// process is killed and started again on its database, and one API is stopped: every request
// ends succeeded or refused with `capacity-exhausted`, no environment is ever over its limit,
// and every account exists once.
import { Client, Connection } from '@temporalio/client';
import { clientCredentialsToken, idPath } from '../helpers/api';
import { useSandbox } from '../helpers/lifecycle';
import { killAll, spawnApi, spawnWorker, type ApiProcess, type WorkerProcess } from '../helpers/processes';
import { SKU_PART } from '../helpers/sandbox';
import { FAST_TIMING, testTaskQueue } from '../helpers/worker';
import { until, watchNonInteractiveCounts } from '../helpers/watch';
import { auditSchedulePrefix, type AuditReport } from '../../workflows/audit-types';
import type { StatusDocument } from '../../workflows/types';

const LIMITS = { 'contoso-prod': 4, 'contoso-test': 3 } as const;
type Env = keyof typeof LIMITS;
const PER_ENVIRONMENT = 8;
// Licenses propagate, and users reach Dataverse, 30 s after licensing: long enough for the
// faults below to land while requests wait in await-dataverse-user.
const SLOW_SYNC = { syncDelayMs: 30_000, licensePropagationMs: 30_000 };
// The fault suite's timings (test/e2e/faults.test.ts): room for a stranded activity's retry.
const TIMING = { ...FAST_TIMING, syncTimeoutMs: 180_000, stepRetryWindowMs: 180_000 };

const address = process.env.NIU_TEST_CLUSTER_ADDRESS!;
const { sandbox, control } = useSandbox({
  config: {
    ...SLOW_SYNC,
    environments: Object.fromEntries(
      Object.entries(LIMITS).map(([env, limit]) => [env, { nonInteractiveLimit: limit }]),
    ),
    skus: { [SKU_PART]: { seats: 100 } },
  },
});
const taskQueue = testTaskQueue('cluster');
const prefix = auditSchedulePrefix(taskQueue);

const workers: WorkerProcess[] = [];
const apis: ApiProcess[] = [];
let operator: Client;
let connection: Connection;
let token: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startWorker(): Promise<WorkerProcess> {
  // Audits every 5 s, so the schedules run within the first test.
  const w = await spawnWorker({
    sandboxUrl: sandbox.url,
    taskQueue,
    temporalAddress: address,
    env: { AUDIT_INTERVAL_SECONDS: '5' },
  });
  workers.push(w);
  await w.ready(120_000);
  return w;
}

beforeAll(async () => {
  if (!address)
    throw new Error('NIU_TEST_CLUSTER_ADDRESS not set: run through scripts/test.sh --selectProjects cluster');
  connection = await Connection.connect({ address });
  operator = new Client({ connection });
  token = await clientCredentialsToken(sandbox.url, 'operator-client', 'operator-secret');
  // Two workers at once: both create (or update) the schedules.
  await Promise.all([startWorker(), startWorker()]);
  for (let i = 0; i < 2; i++) {
    apis.push(await spawnApi({ sandboxUrl: sandbox.url, taskQueue, temporalAddress: address, workflowTiming: TIMING }));
  }
}, 240_000);

afterAll(async () => {
  await killAll([...workers, ...apis]);
  await connection?.close();
});

async function ourSchedules(): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of operator.schedule.list()) if (s.scheduleId.startsWith(prefix)) ids.push(s.scheduleId);
  return ids.sort();
}

test('two workers starting at once make one audit schedule per environment, and the schedules run', async () => {
  const expected = Object.keys(LIMITS).map((env) => `${prefix}${env}`);
  // The schedules list is read from visibility, which follows the schedules' creation.
  expect(await until(ourSchedules, (ids) => ids.length >= expected.length, 60_000)).toEqual(expected.sort());
  for (const id of expected) {
    const handle = operator.schedule.getHandle(id);
    const d = await until(
      () => handle.describe(),
      (x) => x.info.recentActions.length >= 1,
      60_000,
    );
    expect(d.info.recentActions.length).toBeGreaterThanOrEqual(1);
    const { workflowId, firstExecutionRunId } = d.info.recentActions[0]!.action.workflow;
    const report = (await operator.workflow.getHandle(workflowId, firstExecutionRunId).result()) as AuditReport;
    expect(report.environment).toBe(id.slice(prefix.length));
    // Paused for the next test (a worker started again keeps an operator's pause).
    await handle.pause('the fault test runs');
  }
}, 120_000);

/** What the clients saw. */
interface Outcome {
  upn: string;
  environment: Env;
  id?: string;
  final?: StatusDocument;
  /** Calls that found an API gone (connection refused, 5xx) and went to the other one. */
  failovers: number;
}

/**
 * One client per request: POSTs it to its API (the other after a network error or a 5xx: the
 * API answers the same request with the same id), then polls its status until it is final.
 */
function startClients(outcomes: Outcome[], deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  return Promise.all(
    outcomes.map(async (o, i) => {
      let api = i % 2;
      const call = async (method: string, p: string, body?: unknown) => {
        try {
          const res = await fetch(apis[api]!.url + p, {
            method,
            headers,
            body: body === undefined ? undefined : JSON.stringify(body),
            signal: AbortSignal.timeout(15_000),
          });
          const text = await res.text();
          if (res.status < 500) return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
        } catch {
          // connection refused or reset: this API is gone
        }
        o.failovers++;
        api = 1 - api;
        await sleep(250);
        return null;
      };
      await sleep(i * 100); // a burst, not one instant
      let lostAnswer = false;
      while (!o.id) {
        if (Date.now() > deadline) throw new Error(`${o.upn}: not accepted before the deadline`);
        const res = await call('POST', '/v1/non-interactive-users', {
          environment: o.environment,
          userPrincipalName: o.upn,
          displayName: `Cluster test ${o.upn.split('@')[0]}`,
        });
        const body = res?.body as { id?: string; type?: string } | null;
        if (res && (res.status === 202 || res.status === 200)) o.id = body!.id;
        // A POST the stopped API accepted without answering, finished by the retry: said so, with its id.
        else if (lostAnswer && res?.status === 409 && body?.type?.endsWith('/already-provisioned')) o.id = body.id;
        else if (!res) lostAnswer = true;
        else throw new Error(`${o.upn}: POST answered ${res.status} ${JSON.stringify(res.body)}`);
      }
      for (;;) {
        if (Date.now() > deadline) throw new Error(`${o.upn}: not finished before the deadline`);
        await sleep(1_000);
        const res = await call('GET', idPath(o.id));
        if (!res) continue;
        expect({ upn: o.upn, status: res.status }).toEqual({ upn: o.upn, status: 200 });
        const doc = res.body as StatusDocument;
        if (doc.status !== 'running') {
          o.final = doc;
          return;
        }
        o.final = undefined;
        if (doc.currentStep === 'await-dataverse-user') waiting.add(o.upn);
      }
    }),
  ).then(() => undefined);
}
/** The requests seen waiting in the sync. */
const waiting = new Set<string>();

test('requests over two APIs in two environments while a worker is killed, the server restarted and an API stopped: each succeeds once or is refused, never over a limit', async () => {
  const outcomes: Outcome[] = (Object.keys(LIMITS) as Env[]).flatMap((environment) =>
    Array.from({ length: PER_ENVIRONMENT }, (_, i) => ({
      upn: `svc-cluster-${environment.split('-')[1]}-${i}@contoso.onmicrosoft.com`,
      environment,
      failovers: 0,
    })),
  );
  const watcher = watchNonInteractiveCounts(control, Object.keys(LIMITS) as Env[], 100);
  const clients = startClients(outcomes, 240_000);
  clients.catch(() => undefined); // awaited below; a failure meanwhile must not go unhandled

  // 1. A worker SIGKILLed while requests wait in the sync (no shutdown code runs), then a new one.
  await until(
    async () => waiting.size,
    (n) => n > 0,
    120_000,
  );
  expect(waiting.size).toBeGreaterThan(0);
  expect((await workers[0]!.kill('SIGKILL')).signal).toBe('SIGKILL');
  await startWorker();

  // 2. The Temporal server process killed and started again on its database, mid-run.
  const unfinished = outcomes.filter((o) => !o.final).length;
  expect(unfinished).toBeGreaterThan(0);
  const restart = await fetch(`${process.env.NIU_TEST_CLUSTER_CONTROL}/server/restart?signal=SIGKILL`, {
    method: 'POST',
  });
  expect(restart.status).toBe(200);
  const pids = (await restart.json()) as { stoppedPid: number; pid: number };
  expect(pids.pid).not.toBe(pids.stoppedPid);

  // 3. One API stopped for good (SIGTERM: it finishes what it serves); its clients go to the other.
  await apis[1]!.kill('SIGTERM');

  await clients;
  const maxima = await watcher.stop();
  const state = await control.state();

  for (const env of Object.keys(LIMITS) as Env[]) {
    // Never over the limit, in any sample taken during the run.
    expect({ env, max: maxima[env] <= LIMITS[env] }).toEqual({ env, max: true });
    const mine = outcomes.filter((o) => o.environment === env);
    const finals = mine.map((o) =>
      o.final?.status === 'succeeded' ? 'succeeded' : `${o.final?.status}:${o.final?.error?.type}`,
    );
    // Every request either got a slot and succeeded, or was refused for capacity.
    expect(finals.filter((f) => f !== 'succeeded' && f !== 'failed:capacity-exhausted')).toEqual([]);
    // The limit was the only reason for a refusal: every slot was used.
    expect({ env, succeeded: finals.filter((f) => f === 'succeeded').length }).toEqual({ env, succeeded: LIMITS[env] });
    expect(state.environments[env]!.nonInteractiveUsers).toBe(LIMITS[env]);
  }
  for (const o of outcomes) {
    const accounts = state.users.filter((u) => u.userPrincipalName.toLowerCase() === o.upn);
    const succeeded = o.final?.status === 'succeeded';
    // One account per request that succeeded (none made twice by a retry), none for a refused one.
    expect({ upn: o.upn, accounts: accounts.length }).toEqual({ upn: o.upn, accounts: succeeded ? 1 : 0 });
    if (succeeded) expect(o.final!.result?.entraObjectId).toBe(accounts[0]!.id);
  }
  // Nothing was created and deleted again (a second account compensated away).
  const upns = new Set(outcomes.map((o) => o.upn));
  expect(state.deletedUsers.filter((u) => upns.has(u.userPrincipalName.toLowerCase()))).toEqual([]);
  // The clients of the stopped API went over to the other one.
  expect(outcomes.some((o) => o.failovers > 0)).toBe(true);
  // Three worker starts, and still one schedule per environment.
  expect(await ourSchedules()).toEqual(
    Object.keys(LIMITS)
      .map((env) => `${prefix}${env}`)
      .sort(),
  );
}, 300_000);
