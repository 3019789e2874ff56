// Benchmark 4, time to provision 20 users with a 20 s sync delay: the service (20 requests
// through the API at once) against the same steps run one user after another, as a script
// would (bench/script.ts). The sandbox makes the user visible 20 s after licensing, and addUser
// cannot shortcut it (it answers "not licensed" for those 20 s too).
import type { Client } from '@temporalio/client';
import type { ApiProcess } from '../test/helpers/processes';
import { postRequest } from './orchestration';
import type { BenchSandbox } from './stack';
import { DOMAIN, round, SKU } from './stats';

export const SYNC_DELAY_MS = 20_000;

/** Both the service and the script look again every second and let the mode settle 1 s. */
export const PROVISION_TIMING = {
  syncPollInitialMs: 1_000,
  syncPollMaxMs: 1_000,
  forceSyncIntervalMs: 1_000,
  verifySettleMs: 1_000,
};

export async function prepareSyncDelay(sandbox: BenchSandbox): Promise<void> {
  await sandbox.control.reset();
  await sandbox.control.config({
    syncDelayMs: SYNC_DELAY_MS,
    licensePropagationMs: SYNC_DELAY_MS,
    revertWindowMs: 0,
    environments: { 'contoso-prod': { nonInteractiveLimit: 100 }, 'contoso-test': { nonInteractiveLimit: 100 } },
    skus: { [SKU]: { seats: 100 } },
  });
}

export interface ServiceProvisionResult {
  users: number;
  seconds: number;
  /** The warm-up request alone, the first on a worker just started (see provisionThroughService). */
  firstRequestSeconds: number;
  /** Events of one request's await-dataverse-user, from its history (a finished wait of ~20 s). */
  waitEvents: number;
  waitLooks: number;
}

export async function provisionThroughService(options: {
  client: Client;
  api: ApiProcess;
  sandbox: BenchSandbox;
  users: number;
}): Promise<ServiceProvisionResult> {
  const { client, api, sandbox, users } = options;
  const token = await sandbox.operatorToken();
  const stamp = Date.now().toString(36);
  // One request first, as bench 1 warms up too: a service runs for days, and the first request
  // after a worker starts also pays loading the workflow code, the first tokens and connections,
  // and starting the admission entity (the script pays its own once, for its first user).
  const w0 = performance.now();
  const warm = await postRequest(api, token, `bench-svc-${stamp}-warm@${DOMAIN}`);
  await client.workflow.getHandle(warm).result();
  const firstRequestSeconds = (performance.now() - w0) / 1000;
  const t0 = performance.now();
  const ids = await Promise.all(
    Array.from({ length: users }, (_, i) => postRequest(api, token, `bench-svc-${stamp}-${i}@${DOMAIN}`)),
  );
  await Promise.all(ids.map((id) => client.workflow.getHandle(id).result()));
  const seconds = (performance.now() - t0) / 1000;

  // The wait on a real finished history: from the activity's scheduling to its completion.
  const history = await client.workflow.getHandle(ids[0]!).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.findIndex(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'awaitSystemUser',
  );
  const completed = events.findIndex((e, i) => i > scheduled && e.activityTaskCompletedEventAttributes);
  const started = events.find((e, i) => i > scheduled && e.activityTaskStartedEventAttributes);
  return {
    users,
    seconds: round(seconds, 1),
    firstRequestSeconds: round(firstRequestSeconds, 1),
    // Scheduled .. completed, plus the workflow task that took the result.
    waitEvents: completed - scheduled + 1 + 3,
    waitLooks: started?.activityTaskStartedEventAttributes?.attempt ?? 0,
  };
}
