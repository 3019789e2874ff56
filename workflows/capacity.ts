// `environmentCapacity`: one long-lived entity workflow per environment (id
// `niu-capacity:<environment>`) that hands out non-interactive user slots one at a time.
//
// Why an entity: the limit is per environment and the check-then-set of "read the count, take
// a slot" must be atomic across all requests. The entity's `reserve` update runs under a mutex:
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
      const live = await readEnvironmentCapacity({ environment: state.environment });
      let others = [...holders.keys()].filter((id) => id !== req.requestId).length;
      if (holders.has(req.requestId)) return { granted: true, ...live, reserved: others };
      if (live.used + others >= live.limit && others > 0) {
        // Before refusing: a holder terminated from outside never released its slot.
        const gone = await closedRuns({ runs: [...holders.keys()].map((workflowId) => ({ workflowId })) });
        for (const id of gone) holders.delete(id);
        others = [...holders.keys()].filter((id) => id !== req.requestId).length;
      }
      const granted = live.used + others < live.limit;
      if (granted) holders.set(req.requestId, req.userPrincipalName);
      return { granted, ...live, reserved: others };
    }),
  );
  setHandler(releaseCapacitySignal, ({ requestId }) => {
    holders.delete(requestId);
  });
  setHandler(reservationsQuery, () => ({ reserved: holders.size, holders: [...holders.keys()] }));

  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY);
  await condition(() => mutex.idle && allHandlersFinished());
  await continueAsNew<typeof environmentCapacity>({
    environment: state.environment,
    holders: Object.fromEntries(holders),
  });
}
