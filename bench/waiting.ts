// Benchmark 3, waiting at scale: 1,000 requests parked in await-dataverse-user (the sandbox
// never syncs them), then the service's own worker process (worker/main.ts) is measured while
// they wait: RSS from /proc/<pid>/status, activity slots in use from its Prometheus metrics, and
// history events per request per hour of waiting, computed from the polling schedule and
// checked on a real parked history.
import type { Client } from '@temporalio/client';
import type { WorkerProcess } from '../test/helpers/processes';
import { DEFAULT_TIMING, backoff } from '../workflows/timing';
import { NiuEnvironment, NiuStep, NiuUserPrincipalName } from '../workflows/definitions';
import { WORKFLOW_TYPE, workflowIdFor, type ProvisionInput, type ProvisionTiming } from '../workflows/types';
import type { BenchSandbox } from './stack';
import { DOMAIN, pool, round, sleep, SKU } from './stats';

/** The defaults, with the force-sync window cut to 30 s so the bench reaches the long back-off. */
export const PARKED_TIMING: Partial<ProvisionTiming> = { forceSyncWindowMs: 30_000 };

export interface WaitingResult {
  requests: number;
  parkSeconds: number;
  rssMb: { idle: number; parkedMean: number; parkedMax: number };
  activitySlots: { usedMean: number; usedMax: number; samples: number };
  historyEventsPerHour: {
    /** The wait as one Temporal-retried activity (this code): per hour of a 1 h and of a 24 h wait. */
    modelFirstHour: number;
    model24hAverage: number;
    /** The earlier design (timer + activities per look) under the same default schedule. */
    timerLoopFirstHour: number;
    timerLoopSteadyPerHour: number;
    /** Checked on a real parked history: events written since the wait began, and looks made. */
    observed: { eventsSinceWaitBegan: number; looksMade: number; waitedSeconds: number };
  };
}

/** Events of a wait driven by one activity that the server retries: whatever its length. */
export const ACTIVITY_WAIT_EVENTS = 6; // scheduled, started, completed + one workflow task (3)

/**
 * Events of the earlier loop (per look: workflow task 3, activity 3, workflow task 3, timer 2,
 * and 3 + 3 more for addUser while forcing) over `hours`, under `timing`, addUser never
 * answering "added" (the worst case the force window is for).
 */
export function timerLoopEvents(timing: ProvisionTiming, hours: number): number {
  let t = 0;
  let events = 0;
  let polls = 0;
  const end = hours * 3_600_000;
  while (t < end) {
    const forcing = t < timing.forceSyncWindowMs;
    events += forcing ? 14 : 11;
    let wait = backoff(polls++, timing.syncPollInitialMs, timing.syncPollMaxMs);
    if (forcing) wait = Math.min(wait, timing.forceSyncIntervalMs);
    t += wait;
  }
  return events;
}

async function slotsUsed(worker: WorkerProcess): Promise<number> {
  const text = await worker.metrics();
  let used = 0;
  for (const line of text.split('\n')) {
    if (
      line.startsWith('temporal_worker_task_slots_used') &&
      /worker_type="(ActivityWorker|LocalActivityWorker)"/.test(line)
    ) {
      used += Number(line.trim().split(/\s+/).pop());
    }
  }
  return used;
}

export async function waiting(options: {
  client: Client;
  sandbox: BenchSandbox;
  worker: WorkerProcess;
  taskQueue: string;
  requests: number;
  log: (line: string) => void;
}): Promise<WaitingResult> {
  const { client, sandbox, worker, taskQueue, requests, log } = options;
  await sandbox.control.reset();
  // Licensed but never synced, and addUser keeps answering "not licensed": every request waits.
  await sandbox.control.config({
    syncDelayMs: 86_400_000,
    licensePropagationMs: 86_400_000,
    environments: { 'contoso-prod': { nonInteractiveLimit: 5000 } },
    skus: { [SKU]: { seats: 5000 } },
  });
  const idleRss = worker.rssBytes();
  const stamp = Date.now().toString(36);
  const t0 = performance.now();
  const ids = await pool(requests, 50, async (i) => {
    const upn = `bench-park-${stamp}-${String(i).padStart(4, '0')}@${DOMAIN}`;
    const input: ProvisionInput = {
      environment: 'contoso-prod',
      userPrincipalName: upn,
      displayName: `Parked ${i}`,
      usageLocation: 'US',
      licenseSku: SKU,
      securityRoles: [],
      requestedAt: new Date().toISOString(),
      timing: PARKED_TIMING,
    };
    const id = workflowIdFor(input.environment, upn);
    await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue,
      workflowId: id,
      args: [input],
      typedSearchAttributes: [
        { key: NiuEnvironment, value: input.environment },
        { key: NiuUserPrincipalName, value: upn },
        { key: NiuStep, value: 'reserve-capacity' },
      ],
    });
    return id;
  });
  // Parked = the search attribute says await-dataverse-user (visibility is eventually consistent).
  const query = `TaskQueue = '${taskQueue}' AND NiuStep = 'await-dataverse-user' AND ExecutionStatus = 'Running'`;
  for (let last = -1; ;) {
    const { count } = await client.workflow.count(query);
    if (count !== last) log(`  parked ${count} / ${requests}`);
    last = count;
    if (count >= requests) break;
    if (performance.now() - t0 > 300_000) throw new Error(`only ${count} of ${requests} parked after 300 s`);
    await sleep(3_000);
  }
  const parkSeconds = (performance.now() - t0) / 1000;
  const waitBegan = Date.now();

  // Past the force-sync window (looks every 10 s) into the back-off, then sample for 30 s.
  log('  waiting out the force-sync window, then sampling RSS and slots for 30 s');
  await sleep(Math.max(0, (PARKED_TIMING.forceSyncWindowMs ?? 0) + 5_000));
  const rss: number[] = [];
  const slots: number[] = [];
  for (let i = 0; i < 30; i++) {
    rss.push(worker.rssBytes());
    slots.push(await slotsUsed(worker));
    await sleep(1_000);
  }

  // A real parked history: events after the wait's activity was scheduled, and looks made so far.
  const sample = client.workflow.getHandle(ids[Math.floor(ids.length / 2)]!);
  const history = await sample.fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.findIndex(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'awaitSystemUser',
  );
  if (scheduled < 0) throw new Error('the parked history has no awaitSystemUser activity');
  const description = await sample.describe();
  const pending = description.raw.pendingActivities?.find((a) => a.activityType?.name === 'awaitSystemUser');
  const scheduledAt = Number(events[scheduled]!.eventTime?.seconds ?? 0) * 1000;

  const timing = DEFAULT_TIMING; // the old loop under the shipped defaults
  const mb = (b: number) => round(b / 1024 / 1024, 1);
  return {
    requests,
    parkSeconds: round(parkSeconds, 1),
    rssMb: {
      idle: mb(idleRss),
      parkedMean: mb(rss.reduce((a, b) => a + b, 0) / rss.length),
      parkedMax: mb(Math.max(...rss)),
    },
    activitySlots: {
      usedMean: round(slots.reduce((a, b) => a + b, 0) / slots.length, 2),
      usedMax: Math.max(...slots),
      samples: slots.length,
    },
    historyEventsPerHour: {
      modelFirstHour: ACTIVITY_WAIT_EVENTS,
      model24hAverage: round(ACTIVITY_WAIT_EVENTS / 24, 2),
      timerLoopFirstHour: timerLoopEvents(timing, 1),
      timerLoopSteadyPerHour: timerLoopEvents(timing, 25) - timerLoopEvents(timing, 24),
      observed: {
        eventsSinceWaitBegan: events.length - scheduled,
        looksMade: pending?.attempt ?? 0,
        waitedSeconds: round((Date.now() - (scheduledAt || waitBegan)) / 1000, 0),
      },
    },
  };
}
