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
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { releaseCapacitySignal, reservationsQuery, reserveUpdate } from './definitions';
import { WorkflowMutex } from './mutex';
import type { CapacityDecision } from './types';

const { closedRuns } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
  summary: 'find holders that ended without releasing their slot',
});

const { readEnvironmentCapacity } = proxyActivities<Activities>({
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

  setHandler(reserveUpdate, (req) =>
    mutex.run(async (): Promise<CapacityDecision> => {
      const othersThan = (id: string): number => [...holders.keys()].filter((h) => h !== id).length;
      let live = await readEnvironmentCapacity({ environment: state.environment });
      if (holders.has(req.requestId)) return { granted: true, ...live, reserved: othersThan(req.requestId) };
      if (live.used + othersThan(req.requestId) >= live.limit && holders.size > 0) {
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
      return { granted, ...live, reserved };
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
