// `environmentCapacity`: one long-lived entity workflow per environment (id
// `niu-capacity:<environment>`) that hands out non-interactive user slots one at a time. Serves
// only runs started before the `admission-entity` patch; newer runs get their slot from the
// admission entity (workflows/admission.ts), which took over this design.
//
// Why an entity: the limit is per environment and the check-then-set of "read the count, take
// a slot" must be atomic across all requests. Reservations and releases run under a mutex: a
// decision reads the live figures (RetrieveOrganizationResources through a local activity) and
// grants a slot only if used + reserved < limit. A request holds its slot until it has set access
// mode 4 (from then on Dataverse counts it) or until it ends, whatever the outcome: it signals
// `release` in both cases (a non-cancellable scope on the way out). Between setting the mode and
// releasing, the request is counted twice, which errs on the safe side.
//
// How a run asks: by the `requestSlot` signal (sent with signal-with-start by the `admit` or
// `requestSlot` activity), and the entity answers with a `capacityDecided` signal to that run
// (sent by a local activity with the client, activities/entities.ts says why), which waits on a
// durable condition. The earlier `reserve` update is still served for runs started before
// (workflow versioning), but it does not scale: the server admits at most 10 in-flight updates
// per workflow (history.maxInFlightUpdates, also Temporal Cloud's limit), a reserve update stays
// in flight until its batch is decided, and the activity waiting for it holds a slot. 1,000
// requests started together parked 4 in 5 minutes that way (bench).
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { releaseCapacitySignal, requestSlotSignal, reservationsQuery, reserveUpdate } from './definitions';
import { closedRuns, deliverCapacityDecisions, readEnvironmentCapacity } from './entity-local-activities';
import { WorkflowMutex } from './mutex';
import type { CapacityDecision, CapacityRequest } from './types';

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
  // A queued reservation: `answer` resolves the update or signals the requesting run; `fail`
  // rejects the update (its activity retries) or keeps a signalled request for a later batch.
  type Pending = {
    req: { requestId: string; userPrincipalName: string };
    answer(d: CapacityDecision): void;
    fail(err: unknown): void;
  };
  const queue: Pending[] = [];
  // The first arrival books a turn behind the mutex; later arrivals ride along with it.
  const book = mutex.batched(() => decideBatch());
  // Signalled answers of the batch being decided, sent together before the mutex is let go.
  let decided: { request: CapacityRequest; decision: CapacityDecision }[] = [];
  let retryLater: Pending[] = [];
  const decideBatch = async (): Promise<void> => {
    const batch = queue.splice(0);
    const othersThan = (id: string): number => holders.size - (holders.has(id) ? 1 : 0);
    let answered = 0;
    try {
      let live = await readEnvironmentCapacity({ environment: state.environment });
      let lookedForGone = false;
      for (const { req, answer } of batch) {
        if (holders.has(req.requestId)) {
          answer({ granted: true, ...live, reserved: othersThan(req.requestId) });
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
        answer({ granted, ...live, reserved });
        answered++;
      }
    } catch (err) {
      // A read failed for good: the rest of the batch fails (update callers retry; signalled
      // requests are decided again a little later).
      for (const p of batch.slice(answered)) p.fail(err);
    }
    const sending = decided;
    decided = [];
    if (sending.length > 0) await deliver(sending);
    if (retryLater.length > 0) {
      const again = retryLater;
      retryLater = [];
      await sleep('5 seconds');
      queue.unshift(...again);
      book();
    }
  };
  setHandler(
    reserveUpdate,
    (req) =>
      new Promise<CapacityDecision>((resolve, reject) => {
        queue.push({ req, answer: resolve, fail: reject });
        book();
      }),
  );
  const signalled = (req: CapacityRequest): Pending => {
    const pending: Pending = {
      req,
      answer: (decision) => void decided.push({ request: req, decision }),
      fail: () => void retryLater.push(pending),
    };
    return pending;
  };
  const deliver = async (sending: { request: CapacityRequest; decision: CapacityDecision }[]): Promise<void> => {
    try {
      // Runs that are gone (terminated) will never use or release their slot.
      for (const id of await deliverCapacityDecisions({ decisions: sending })) holders.delete(id);
    } catch (err) {
      // Not delivered for good (Temporal unreachable, the worker stopping): decide them again
      // later; a holder among them is answered with its slot, and a run takes the first answer.
      log.warn('capacity decisions could not be delivered; deciding again later', { error: String(err) });
      retryLater.push(...sending.map(({ request }) => signalled(request)));
    }
  };
  setHandler(requestSlotSignal, (req) => {
    // A retried activity may send the same request twice; one answer is enough.
    if (queue.some((p) => p.req.requestId === req.requestId)) return;
    queue.push(signalled(req));
    book();
  });
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
  await condition(() => mutex.idle && queue.length === 0 && allHandlersFinished());
  await continueAsNew<typeof environmentCapacity>({
    environment: state.environment,
    holders: Object.fromEntries(holders),
  });
}
