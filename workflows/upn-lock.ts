// `upnLock`: one entity per integration account (id `niu-upn:<upn>`), a FIFO lock. Serves only
// runs started before the `admission-entity` patch; newer runs take the lock from the admission
// entity (workflows/admission.ts).
//
// Why a lock over the whole request: the same account may be requested for several
// environments at once. They share one Entra account and one license: if the first request
// removed the license (its step 5) while the second still waited for its sync, the second would
// never sync or would be disabled; if one failed and deleted the account, it would pull it from
// under the other. Serializing whole requests per UPN makes each run see a quiet account: the
// second run adopts the account the first created and licenses it again. The cost is latency for
// the rare parallel case; the benefit is that no step needs cross-request bookkeeping.
//
// The entity answers `acquire` at once (granted, or queued with a position) and later signals a
// queued run `upnLockGranted`; the waiting run sleeps on a durable condition, no activity holds
// a slot. It ends when nobody holds or waits (a later acquire starts it again).
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { acquireUpdate, lockGrantedSignal, lockStateQuery, releaseLockSignal } from './definitions';
import { closedRuns } from './entity-local-activities';
import type { LockDecision, LockHolder } from './types';

export interface UpnLockState {
  userPrincipalName: string;
  holder?: LockHolder | null;
  queue?: LockHolder[];
}

/** How often a lock with waiters checks that its holder still runs (a terminated run never releases). */
const HOLDER_CHECK_INTERVAL = '1 minute';

const same = (a: LockHolder | null | undefined, b: LockHolder): boolean =>
  !!a && a.workflowId === b.workflowId && a.runId === b.runId;

export async function upnLock(state: UpnLockState): Promise<void> {
  let holder: LockHolder | null = state.holder ?? null;
  const queue: LockHolder[] = [...(state.queue ?? [])];

  setHandler(acquireUpdate, (who): LockDecision => {
    if (same(holder, who)) return { granted: true, position: 0, holder };
    if (!holder) {
      holder = who;
      return { granted: true, position: 0, holder };
    }
    let index = queue.findIndex((q) => same(q, who));
    if (index < 0) index = queue.push(who) - 1;
    return { granted: false, position: index + 1, holder };
  });
  setHandler(releaseLockSignal, (who) => {
    if (same(holder, who)) holder = null;
    const index = queue.findIndex((q) => same(q, who));
    if (index >= 0) queue.splice(index, 1);
  });
  setHandler(lockStateQuery, () => ({ holder, queue: [...queue] }));

  const tooLong = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000;
  for (;;) {
    const free = (): boolean => holder === null && (queue.length > 0 || allHandlersFinished());
    if (holder !== null && queue.length > 0) {
      // Someone waits: check now and then that the holder still runs (a terminated run never releases).
      if (!(await condition(() => free() || tooLong(), HOLDER_CHECK_INTERVAL))) {
        const current = holder as LockHolder;
        let gone: string[] = [];
        try {
          gone = await closedRuns({ runs: [current] });
        } catch (err) {
          // Not known now (Temporal unreachable, the worker stopping): look again next interval.
          // Letting it throw would fail the lock, and every queued run would wait forever.
          log.warn('could not check the lock holder; checking again later', { error: String(err) });
        }
        if (gone.length > 0 && same(holder, current)) {
          log.warn('lock holder ended without releasing; passing the lock on', { workflowId: current.workflowId });
          holder = null;
        }
        continue;
      }
    } else {
      await condition(() => free() || tooLong() || (holder !== null && queue.length > 0));
    }
    if (holder === null && queue.length > 0) {
      const next = queue.shift()!;
      holder = next;
      try {
        await getExternalWorkflowHandle(next.workflowId, next.runId).signal(lockGrantedSignal);
      } catch (err) {
        // The waiting run is gone (terminated): skip it.
        log.warn('lock grant could not be delivered; skipping', { workflowId: next.workflowId, error: String(err) });
        if (same(holder, next)) holder = null;
      }
      continue;
    }
    if (holder === null && queue.length === 0 && allHandlersFinished()) return; // idle: end
    if (!tooLong()) continue;
    await condition(allHandlersFinished);
    await continueAsNew<typeof upnLock>({ userPrincipalName: state.userPrincipalName, holder, queue });
  }
}
