// Benchmark 1, orchestration overhead: 200 requests through the API with every sandbox delay at
// zero, provisioned per second, against 200 runs of a workflow with the same number of no-op
// activities (bench/noop-workflow.ts) on the same server, worker and task queue.
import type { Client } from '@temporalio/client';
import type { ApiProcess } from '../test/helpers/processes';
import { upnLockWorkflowId } from '../workflows/types';
import type { BenchSandbox } from './stack';
import { DOMAIN, pool, round, SKU } from './stats';

/** Activities one provisioning run executes (admit: lock and capacity request; create, license, wait, mode, remove, re-read). */
export const ACTIVITIES_PER_REQUEST = 7;

export interface OrchestrationResult {
  requests: number;
  serviceSeconds: number;
  servicePerSecond: number;
  baselineSeconds: number;
  baselinePerSecond: number;
  ratio: number;
  /** Profile: history events of one request (its workflow + its account-lock entity) and of one baseline run. */
  eventsPerRequest: { workflow: number; upnLock: number; baseline: number };
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

export async function orchestration(options: {
  client: Client;
  api: ApiProcess;
  sandbox: BenchSandbox;
  taskQueue: string;
  requests: number;
  concurrency: number;
  log: (line: string) => void;
}): Promise<OrchestrationResult> {
  const { client, api, sandbox, taskQueue, requests, concurrency, log } = options;
  const stamp = Date.now().toString(36);
  await prepareZeroDelay(sandbox);
  const token = await sandbox.operatorToken();

  // Warm-up of both paths (code loaded, connections open, entities started).
  const warm = await pool(5, 5, (i) => postRequest(api, token, `bench-warm-${stamp}-${i}@${DOMAIN}`));
  await Promise.all(warm.map((id) => client.workflow.getHandle(id).result()));
  await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      client.workflow.execute('noopBaseline', {
        taskQueue,
        workflowId: `bench-noop-warm-${stamp}-${i}`,
        args: [ACTIVITIES_PER_REQUEST],
      }),
    ),
  );

  log(`  baseline: ${requests} workflows of ${ACTIVITIES_PER_REQUEST} no-op activities`);
  let t0 = performance.now();
  const handles = await pool(requests, concurrency, (i) =>
    client.workflow.start('noopBaseline', {
      taskQueue,
      workflowId: `bench-noop-${stamp}-${i}`,
      args: [ACTIVITIES_PER_REQUEST],
    }),
  );
  await Promise.all(handles.map((h) => h.result()));
  const baselineSeconds = (performance.now() - t0) / 1000;

  log(`  service: ${requests} requests through the API`);
  t0 = performance.now();
  const ids = await pool(requests, concurrency, (i) =>
    postRequest(api, token, `bench-orch-${stamp}-${String(i).padStart(3, '0')}@${DOMAIN}`),
  );
  const results = await Promise.allSettled(ids.map((id) => client.workflow.getHandle(id).result()));
  const serviceSeconds = (performance.now() - t0) / 1000;
  const failed = results.filter((r) => r.status === 'rejected').length;
  if (failed > 0) throw new Error(`${failed} of ${requests} requests failed in the orchestration benchmark`);

  const eventsOf = async (workflowId: string) =>
    (await client.workflow.getHandle(workflowId).fetchHistory()).events?.length ?? 0;
  const firstUpn = `bench-orch-${stamp}-000@${DOMAIN}`;
  const eventsPerRequest = {
    workflow: await eventsOf(ids[0]!),
    upnLock: await eventsOf(upnLockWorkflowId(firstUpn, taskQueue)).catch(() => 0),
    baseline: await eventsOf(handles[0]!.workflowId),
  };

  const servicePerSecond = requests / serviceSeconds;
  const baselinePerSecond = requests / baselineSeconds;
  return {
    requests,
    serviceSeconds: round(serviceSeconds),
    servicePerSecond: round(servicePerSecond),
    baselineSeconds: round(baselineSeconds),
    baselinePerSecond: round(baselinePerSecond),
    ratio: round(servicePerSecond / baselinePerSecond),
    eventsPerRequest,
    ids,
  };
}
