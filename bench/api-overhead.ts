// Benchmark 2, API overhead: latency of starting a request and of reading its status through
// the API under concurrent load (autocannon), against the same Temporal calls made directly with
// the client (start: workflow.start with the API's options; status: describe + the status
// query, which is what the API does for a request), same concurrency, same duration.
import type { Client } from '@temporalio/client';
import type { ApiProcess } from '../test/helpers/processes';
import { NiuEnvironment, NiuStep, NiuUserPrincipalName } from '../workflows/definitions';
import { STATUS_QUERY, WORKFLOW_TYPE, workflowIdFor, type ProvisionInput } from '../workflows/types';
import { closedLoop, DOMAIN, percentile, round, SKU } from './stats';

// autocannon 9 ships no types; the part used here.
interface AutocannonResult {
  latency: { p50: number; p99: number; average: number };
  requests: { total: number };
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
  start: LatencyPair;
  status: LatencyPair;
}

function pair(api: AutocannonResult, direct: number[]): LatencyPair {
  const directP50 = percentile(direct, 50);
  const directP99 = percentile(direct, 99);
  return {
    apiP50: round(api.latency.p50),
    apiP99: round(api.latency.p99),
    directP50: round(directP50),
    directP99: round(directP99),
    p50Ratio: round(api.latency.p50 / directP50),
    p99Ratio: round(api.latency.p99 / directP99),
    apiCalls: api.requests.total,
    directCalls: direct.length,
  };
}

function check(what: string, r: AutocannonResult): AutocannonResult {
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${what}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  return r;
}

/** Status reads: `ids` are requests that exist (benchmark 1's). */
export async function statusLatency(options: {
  client: Client;
  api: ApiProcess;
  token: string;
  ids: string[];
  connections: number;
  durationMs: number;
}): Promise<LatencyPair> {
  const { client, api, token, ids, connections, durationMs } = options;
  let n = 0;
  const apiResult = check(
    'status through the API',
    await autocannon({
      url: api.url,
      connections,
      duration: durationMs / 1000,
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
    }),
  );
  const direct = await closedLoop(connections, durationMs, async (i) => {
    const handle = client.workflow.getHandle(ids[i % ids.length]!);
    await handle.describe();
    await handle.query(STATUS_QUERY);
  });
  if (direct.errors > 0) throw new Error(`direct status: ${direct.errors} errors`);
  return pair(apiResult, direct.latencies);
}

/** Starts: each call creates a new request (a fresh UPN) on a task queue no worker polls. */
export async function startLatency(options: {
  client: Client;
  api: ApiProcess;
  token: string;
  taskQueue: string;
  connections: number;
  durationMs: number;
}): Promise<LatencyPair> {
  const { client, api, token, taskQueue, connections, durationMs } = options;
  const stamp = Date.now().toString(36);
  let n = 0;
  const apiResult = check(
    'start through the API',
    await autocannon({
      url: api.url,
      connections,
      duration: durationMs / 1000,
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
    }),
  );
  // The same start the API makes (api/service.ts), with the input it would build.
  const direct = await closedLoop(connections, durationMs, async (i) => {
    const upn = `bench-direct-${stamp}-${i}@${DOMAIN}`;
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
  if (direct.errors > 0) throw new Error(`direct start: ${direct.errors} errors`);
  return pair(apiResult, direct.latencies);
}
