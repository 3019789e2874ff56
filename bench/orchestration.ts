// Benchmark 1, orchestration overhead: 200 requests through the API with every sandbox delay at
// zero, provisioned per second, against 200 runs of a workflow with the same number of no-op
// activities (bench/noop-workflow.ts) on the same server, worker and task queue. Measured in the
// same run, for information: the no-op workflow plus the service's per-step search attribute
// upserts (bench/noop-upsert-workflow.ts), and the CPU each process spent in each phase
// (bench/cpu.ts), since the machine is CPU-bound in all of them.
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import type { ApiProcess, ChildRun } from '../test/helpers/processes';
import { NiuEnvironment, NiuStep, NiuUserPrincipalName } from '../workflows/definitions';
import { cpuSnapshot, formatPhaseCpu, phaseCpu, type CpuPids, type PhaseCpu } from './cpu';
import type { BenchSandbox } from './stack';
import { DOMAIN, pool, round, SKU } from './stats';

/**
 * Activities one provisioning run executes: create, license, wait, mode, remove, re-read. (Its
 * admission is asked and given back by local activities, recorded as markers, not counted here.)
 */
export const ACTIVITIES_PER_REQUEST = 6;

export interface OrchestrationResult {
  requests: number;
  serviceSeconds: number;
  servicePerSecond: number;
  baselineSeconds: number;
  baselinePerSecond: number;
  ratio: number;
  /** Informational baseline: the no-op workflow with one NiuStep upsert per activity, run right after the no-op one. */
  upsertBaselineSeconds: number;
  upsertBaselinePerSecond: number;
  /** Service throughput against the upsert baseline (the target stays `ratio`, against the no-op). */
  upsertRatio: number;
  /** Profile: history events of one request and of one run of each baseline. */
  eventsPerRequest: { workflow: number; baseline: number; upsertBaseline: number };
  /** CPU per process in each phase (per run: per request for the service). */
  cpu: { baseline: PhaseCpu; upsertBaseline: PhaseCpu; service: PhaseCpu };
  /** Ids of the provisioned requests (benchmark 2 reads their status). */
  ids: string[];
}

/** Short waits, zero delays: what is measured is orchestration, not waiting. */
export const ZERO_DELAY_TIMING = {
  syncTimeoutMs: 600_000,
  syncPollInitialMs: 100,
  syncPollMaxMs: 1_000,
  forceSyncWindowMs: 60_000,
  forceSyncIntervalMs: 100,
  verifySettleMs: 1,
  retryMaxIntervalMs: 2_000,
  stepRetryWindowMs: 300_000,
};

export async function prepareZeroDelay(sandbox: BenchSandbox): Promise<void> {
  await sandbox.control.reset();
  await sandbox.control.config({
    syncDelayMs: 0,
    licensePropagationMs: 0,
    revertWindowMs: 0,
    environments: { 'contoso-prod': { nonInteractiveLimit: 5000 } },
    skus: { [SKU]: { seats: 5000 } },
  });
}

export async function postRequest(api: ApiProcess, token: string, upn: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${api.url}/v1/non-interactive-users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ environment: 'contoso-prod', userPrincipalName: upn, displayName: `Bench ${upn}` }),
    });
    const body = (await res.json()) as { id?: string };
    if ((res.status === 202 || res.status === 200) && body.id) return body.id;
    if (res.status < 500 || attempt >= 5) throw new Error(`POST ${upn}: ${res.status} ${JSON.stringify(body)}`);
  }
}

/** The search attributes the API starts a request with (api/service.ts), so the upsert baseline's visibility rows match. */
function startSearchAttributes(upn: string): SearchAttributePair[] {
  return [
    { key: NiuEnvironment, value: 'contoso-prod' },
    { key: NiuUserPrincipalName, value: upn.toLowerCase() },
    { key: NiuStep, value: 'reserve-capacity' },
  ];
}

export async function orchestration(options: {
  client: Client;
  api: ApiProcess;
  sandbox: BenchSandbox;
  worker: ChildRun;
  /** Pid of the Temporal dev server (DevServer.process). */
  serverPid: number;
  taskQueue: string;
  requests: number;
  concurrency: number;
  log: (line: string) => void;
}): Promise<OrchestrationResult> {
  const { client, api, sandbox, worker, serverPid, taskQueue, requests, concurrency, log } = options;
  const stamp = Date.now().toString(36);
  await prepareZeroDelay(sandbox);
  const token = await sandbox.operatorToken();
  const pids: CpuPids = {
    server: serverPid,
    worker: worker.pid,
    api: api.pid,
    sandbox: sandbox.run.pid,
    bench: process.pid,
  };
  /** Runs `phase`, logs and returns the CPU each process spent in it. */
  const measured = async <T>(name: string, phase: () => Promise<T>): Promise<[T, PhaseCpu]> => {
    const before = cpuSnapshot(pids);
    const out = await phase();
    const cpu = phaseCpu(before, cpuSnapshot(pids), requests);
    log(`  ${name} CPU-s per run: ${formatPhaseCpu(cpu)}`);
    return [out, cpu];
  };
  /**
   * Starts `runs` runs of a baseline workflow and waits for all of them; returns the handles and
   * the seconds taken. The upsert baseline starts with a request's search attributes.
   */
  const runBaseline = async (
    workflowType: 'noopBaseline' | 'noopUpsertBaseline',
    idPrefix: string,
    runs = requests,
  ): Promise<{ handles: WorkflowHandle[]; seconds: number }> => {
    const t0 = performance.now();
    const handles = await pool(runs, concurrency, (i) => {
      const workflowId = `${idPrefix}-${stamp}-${i}`;
      return client.workflow.start(workflowType, {
        taskQueue,
        workflowId,
        args: [ACTIVITIES_PER_REQUEST],
        typedSearchAttributes:
          workflowType === 'noopUpsertBaseline' ? startSearchAttributes(`${workflowId}@${DOMAIN}`) : undefined,
      });
    });
    await Promise.all(handles.map((h) => h.result()));
    return { handles, seconds: (performance.now() - t0) / 1000 };
  };

  // Warm-up of the three paths (code loaded, connections open, entities started).
  const warm = await pool(5, 5, (i) => postRequest(api, token, `bench-warm-${stamp}-${i}@${DOMAIN}`));
  await Promise.all(warm.map((id) => client.workflow.getHandle(id).result()));
  await Promise.all([
    runBaseline('noopBaseline', 'bench-noop-warm', 5),
    runBaseline('noopUpsertBaseline', 'bench-upsert-warm', 5),
  ]);

  log(`  baseline: ${requests} workflows of ${ACTIVITIES_PER_REQUEST} no-op activities`);
  const [baseline, baselineCpu] = await measured('baseline', () => runBaseline('noopBaseline', 'bench-noop'));

  log(`  upsert baseline: the same with the request's start search attributes and a NiuStep upsert per activity`);
  const [upsertBaseline, upsertBaselineCpu] = await measured('upsert baseline', () =>
    runBaseline('noopUpsertBaseline', 'bench-upsert'),
  );

  log(`  service: ${requests} requests through the API`);
  const [{ ids, results, serviceSeconds }, serviceCpu] = await measured('service', async () => {
    const t0 = performance.now();
    const ids = await pool(requests, concurrency, (i) =>
      postRequest(api, token, `bench-orch-${stamp}-${String(i).padStart(3, '0')}@${DOMAIN}`),
    );
    const results = await Promise.allSettled(ids.map((id) => client.workflow.getHandle(id).result()));
    return { ids, results, serviceSeconds: (performance.now() - t0) / 1000 };
  });
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed > 0) throw new Error(`${failed} of ${requests} requests failed in the orchestration benchmark`);

  const eventsOf = async (workflowId: string) =>
    (await client.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? 0;
  const eventsPerRequest = {
    workflow: await eventsOf(ids[0]!),
    baseline: await eventsOf(baseline.handles[0]!.workflowId),
    upsertBaseline: await eventsOf(upsertBaseline.handles[0]!.workflowId),
  };

  const servicePerSecond = requests / serviceSeconds;
  const baselinePerSecond = requests / baseline.seconds;
  const upsertBaselinePerSecond = requests / upsertBaseline.seconds;
  return {
    requests,
    serviceSeconds: round(serviceSeconds),
    servicePerSecond: round(servicePerSecond),
    baselineSeconds: round(baseline.seconds),
    baselinePerSecond: round(baselinePerSecond),
    ratio: round(servicePerSecond / baselinePerSecond),
    upsertBaselineSeconds: round(upsertBaseline.seconds),
    upsertBaselinePerSecond: round(upsertBaselinePerSecond),
    upsertRatio: round(servicePerSecond / upsertBaselinePerSecond),
    eventsPerRequest,
    cpu: { baseline: baselineCpu, upsertBaseline: upsertBaselineCpu, service: serviceCpu },
    ids,
  };
}
