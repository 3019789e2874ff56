// Benchmark 2, API overhead: latency of starting a request and of reading its status through
// the API under concurrent load (autocannon), against the same Temporal calls made directly with
// the client (start: workflow.start with the API's options; status: describe + the status
// query, the calls a client reading Temporal itself makes), same concurrency, same duration. The
// requests read are finished (benchmark 1's): the API reads their final steps from the close
// event (api/status.ts) where the direct side's query makes a worker replay each history.
// Side by side: the duration is cut into rounds that alternate API, direct, direct, API, … and
// the percentiles are taken over every call of each side. Measured one after the other, a p99
// went with whatever the shared machine (or the server's SQLite checkpoints) did in that
// half: the start p99 ratio read 0.76x to 2.32x over seven runs with p50 about 1.0x.
import type { Client } from '@temporalio/client';
import type { ApiProcess } from '../test/helpers/processes';
import { NiuEnvironment, NiuStep, NiuUserPrincipalName } from '../workflows/definitions';
import { STATUS_QUERY, WORKFLOW_TYPE, workflowIdFor, type ProvisionInput } from '../workflows/types';
import { closedLoop, DOMAIN, percentile, round, SKU } from './stats';

// autocannon 9 ships no types; the part used here.
interface AutocannonResult {
  non2xx: number;
  errors: number;
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  body?: string;
  headers?: Record<string, string>;
  setupRequest?: (req: AutocannonRequest) => AutocannonRequest;
}
const autocannon = require('autocannon') as (opts: Record<string, unknown>) => Promise<AutocannonResult>;

export interface LatencyPair {
  apiP50: number;
  apiP99: number;
  directP50: number;
  directP99: number;
  p50Ratio: number;
  p99Ratio: number;
  apiCalls: number;
  directCalls: number;
}

export interface ApiOverheadResult {
  connections: number;
  durationSeconds: number;
  rounds: number;
  start: LatencyPair;
  status: LatencyPair;
}

function pair(api: number[], direct: number[]): LatencyPair {
  const [apiP50, apiP99, directP50, directP99] = [
    percentile(api, 50),
    percentile(api, 99),
    percentile(direct, 50),
    percentile(direct, 99),
  ];
  return {
    apiP50: round(apiP50),
    apiP99: round(apiP99),
    directP50: round(directP50),
    directP99: round(directP99),
    p50Ratio: round(apiP50 / directP50),
    p99Ratio: round(apiP99 / directP99),
    apiCalls: api.length,
    directCalls: direct.length,
  };
}

/** One autocannon run; every answer's latency in ms (its result gives percentiles only). */
async function cannon(what: string, options: Record<string, unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const r = await autocannon({
    ...options,
    setupClient: (client: { on(event: 'response', fn: (status: number, bytes: number, ms: number) => void): void }) =>
      client.on('response', (_status, _bytes, ms) => latencies.push(ms)),
  });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${what}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  return latencies;
}

/**
 * `rounds` rounds of each side, in the order API, direct, direct, API, … (drift falls on both),
 * after one unmeasured second of each. The start benchmark's API process is started just before
 * it, and the first call on each of its connections took 360 to 480 ms in three runs (its JIT,
 * its first gRPC calls), against at most 260 ms for any later call and 290 ms for the direct
 * side's first: those ten calls were the whole of the API's p99 (1.63x to 2.06x; per-round
 * latencies, 2026-11-28). Benchmarks 1 and 4 warm up for the same reason: a service runs for days.
 */
async function sideBySide(
  rounds: number,
  durationMs: number,
  api: (ms: number) => Promise<number[]>,
  direct: (ms: number) => Promise<number[]>,
): Promise<LatencyPair> {
  const a: number[] = [];
  const d: number[] = [];
  const ms = durationMs / rounds;
  const warmUpMs = Math.min(1000, ms);
  await api(warmUpMs);
  await direct(warmUpMs);
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) a.push(...(await api(ms)));
    d.push(...(await direct(ms)));
    if (r % 2 === 1) a.push(...(await api(ms)));
  }
  return pair(a, d);
}

async function directCalls(connections: number, ms: number, what: string, task: (n: number) => Promise<void>) {
  const r = await closedLoop(connections, ms, task);
  if (r.errors > 0) throw new Error(`${what}: ${r.errors} errors`);
  return r.latencies;
}

/** Status reads: `ids` are requests that exist (benchmark 1's). */
export async function statusLatency(options: {
  client: Client;
  api: ApiProcess;
  token: string;
  ids: string[];
  connections: number;
  durationMs: number;
  rounds: number;
}): Promise<LatencyPair> {
  const { client, api, token, ids, connections, durationMs, rounds } = options;
  let n = 0;
  let m = 0;
  const throughApi = (ms: number) =>
    cannon('status through the API', {
      url: api.url,
      connections,
      duration: ms / 1000,
      requests: [
        {
          method: 'GET',
          headers: { authorization: `Bearer ${token}` },
          setupRequest: (req: AutocannonRequest) => ({
            ...req,
            path: `/v1/non-interactive-users/${encodeURIComponent(ids[n++ % ids.length]!)}`,
          }),
        },
      ],
    });
  const direct = (ms: number) =>
    directCalls(connections, ms, 'direct status', async () => {
      const handle = client.workflow.getHandle(ids[m++ % ids.length]!);
      await handle.describe();
      await handle.query(STATUS_QUERY);
    });
  return sideBySide(rounds, durationMs, throughApi, direct);
}

/** Starts: each call creates a new request (a fresh UPN) on a task queue no worker polls. */
export async function startLatency(options: {
  client: Client;
  api: ApiProcess;
  token: string;
  taskQueue: string;
  connections: number;
  durationMs: number;
  rounds: number;
}): Promise<LatencyPair> {
  const { client, api, token, taskQueue, connections, durationMs, rounds } = options;
  const stamp = Date.now().toString(36);
  let n = 0;
  let m = 0;
  const throughApi = (ms: number) =>
    cannon('start through the API', {
      url: api.url,
      connections,
      duration: ms / 1000,
      requests: [
        {
          method: 'POST',
          path: '/v1/non-interactive-users',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          setupRequest: (req: AutocannonRequest) => ({
            ...req,
            body: JSON.stringify({
              environment: 'contoso-prod',
              userPrincipalName: `bench-api-${stamp}-${n++}@${DOMAIN}`,
              displayName: 'Bench start',
            }),
          }),
        },
      ],
    });
  // The same start the API makes (api/service.ts), with the input it would build.
  const direct = (ms: number) =>
    directCalls(connections, ms, 'direct start', async () => {
      const upn = `bench-direct-${stamp}-${m++}@${DOMAIN}`;
      const input: ProvisionInput = {
        environment: 'contoso-prod',
        userPrincipalName: upn,
        displayName: 'Bench start',
        usageLocation: 'US',
        licenseSku: SKU,
        securityRoles: [],
        requestedAt: new Date().toISOString(),
      };
      await client.workflow.start(WORKFLOW_TYPE, {
        taskQueue,
        workflowId: workflowIdFor(input.environment, upn),
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
        workflowIdConflictPolicy: 'FAIL',
        typedSearchAttributes: [
          { key: NiuEnvironment, value: input.environment },
          { key: NiuUserPrincipalName, value: upn },
          { key: NiuStep, value: 'reserve-capacity' },
        ],
        staticSummary: `Provision non-interactive user ${upn} in ${input.environment}`,
      });
    });
  return sideBySide(rounds, durationMs, throughApi, direct);
}
