// `environmentCapacity`: one long-lived entity workflow per environment (id
// `niu-capacity:<environment>`) that hands out non-interactive user slots one at a time.
//
// Why an entity: the limit is per environment and the check-then-set of "read the count, take
// a slot" must be atomic across all requests. The entity's `reserve` update (and `release`) run under a mutex:
// it reads the live figures (RetrieveOrganizationResources through an activity), and grants a
// slot only if used + reserved < limit. A request holds its slot until it has set access mode 4
// (from then on Dataverse counts it) or until it ends, whatever the outcome: it signals
// `release` in both cases (a non-cancellable scope on the way out). Between setting the mode and
// releasing, the request is counted twice, which errs on the safe side.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { releaseCapacitySignal, reservationsQuery, reserveUpdate } from './definitions';
import { WorkflowMutex } from './mutex';
import type { CapacityDecision } from './types';

// Local activities, not activities: every request's reserveCapacity activity holds an activity
// slot while it waits for this entity's answer, so under load (200 requests at once, the
// benchmark) all slots were taken by waiting reservations and the entity's own read queued
// behind them until their start-to-close timeouts freed slots: a minute per batch. Local
// activities run in the worker's separate local-activity slots, inside the entity's workflow
// task, and are short reads.
const { closedRuns } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
  summary: 'find holders that ended without releasing their slot',
});

const { readEnvironmentCapacity } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
  summary: 'read the non-interactive user limit and count',
});

export interface CapacityState {
  environment: string;
  /** requestId -> UPN of the holders, carried over continue-as-new. */
  holders?: Record<string, string>;
}

/** History length at which the entity starts afresh (well below the server's limits). */
const MAX_HISTORY = 2_000;

export async function environmentCapacity(state: CapacityState): Promise<void> {
  const holders = new Map<string, string>(Object.entries(state.holders ?? {}));
  const mutex = new WorkflowMutex();

  // Reservations are decided in batches: every `reserve` that arrived while the previous decision
  // ran is answered from ONE read of the live figures, in arrival order, each grant counted as
  // reserved for the next. Deciding them one by one cost a workflow task and an activity round
  // trip each (about 2 s apiece on a busy 2-core machine: the 30th of 30 simultaneous requests
  // waited a minute); a batch costs one. The check stays as strict: used (as read) + holders
  // (including this batch's grants) < limit.
  type Pending = {
    req: { requestId: string; userPrincipalName: string };
    resolve(d: CapacityDecision): void;
    reject(err: unknown): void;
  };
  const queue: Pending[] = [];
  const decideBatch = async (): Promise<void> => {
    const batch = queue.splice(0);
    const othersThan = (id: string): number => [...holders.keys()].filter((h) => h !== id).length;
    let answered = 0;
    try {
      let live = await readEnvironmentCapacity({ environment: state.environment });
      let lookedForGone = false;
      for (const { req, resolve } of batch) {
        if (holders.has(req.requestId)) {
          resolve({ granted: true, ...live, reserved: othersThan(req.requestId) });
          answered++;
          continue;
        }
        if (live.used + othersThan(req.requestId) >= live.limit && holders.size > 0 && !lookedForGone) {
          lookedForGone = true;
          // Before refusing: a holder terminated from outside never released its slot.
          const gone = await closedRuns({ runs: [...holders.keys()].map((workflowId) => ({ workflowId })) });
          if (gone.length > 0) {
            for (const id of gone) holders.delete(id);
            // Read again: the count may have moved while we looked (a holder's last PATCH).
            live = await readEnvironmentCapacity({ environment: state.environment });
          }
        }
        const reserved = othersThan(req.requestId);
        const granted = live.used + reserved < live.limit;
        if (granted) holders.set(req.requestId, req.userPrincipalName);
        resolve({ granted, ...live, reserved });
        answered++;
      }
    } catch (err) {
      // An activity failed for good: the rest of the batch fails (their reserveCapacity activities retry).
      for (const p of batch.slice(answered)) p.reject(err);
    }
  };
  setHandler(
    reserveUpdate,
    (req) =>
      new Promise<CapacityDecision>((resolve, reject) => {
        queue.push({ req, resolve, reject });
        // The first of a batch books a turn behind the mutex; later arrivals ride along with it.
        if (queue.length === 1) void mutex.run(decideBatch);
      }),
  );
  // Releases queue behind a decision in flight. A holder releases right after its access mode
  // became 4; dropping it while a decision holds a count read before that PATCH would count the
  // holder nowhere and grant one slot too many. Behind the mutex, the next decision reads a count
  // that includes it.
  setHandler(releaseCapacitySignal, ({ requestId }) =>
    mutex.run(async () => {
      holders.delete(requestId);
    }),
  );
  setHandler(reservationsQuery, () => ({ reserved: holders.size, holders: [...holders.keys()] }));

  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY);
  await condition(() => mutex.idle && allHandlersFinished());
  await continueAsNew<typeof environmentCapacity>({
    environment: state.environment,
    holders: Object.fromEntries(holders),
  });
}
