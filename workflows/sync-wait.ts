// Shared by the workflow and the awaitSystemUser activity (activities/await-sync.ts): the failure
// type of "not synced yet", what it carries, and how the workflow reads the wait's failure.
// Plain values and @temporalio/common only, safe in workflow code.
import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/common';

/** Retryable failure type of one look that did not find the systemuser yet. */
export const SYNC_PENDING = 'sync-pending';

/** Non-retryable failure type of the look at the deadline (also the request's error type). */
export const SYNC_TIMEOUT = 'sync-timeout';

/** Details of a sync-pending failure (so the workflow can report the looks after a timeout). */
export interface SyncPendingDetails {
  attempt: number;
  addUser: 'added' | 'not-licensed' | 'not-in-group' | 'not-called';
  nextLookMs: number;
}

/**
 * How a failed wait ended: the looks made and addUser's last answer (from the `sync-timeout` or
 * last `sync-pending` in the cause chain), and whether it ran out of time: the activity's own
 * `sync-timeout` at the deadline or, as a backstop, the schedule-to-close timeout (or the server
 * declining a retry past it).
 */
export function syncWaitEnd(err: unknown): {
  looks: number | null;
  addUser: SyncPendingDetails['addUser'] | null;
  outOfTime: boolean;
} {
  for (let e: unknown = err; e instanceof Error; e = (e as Error & { cause?: unknown }).cause) {
    if (e instanceof ApplicationFailure && (e.type === SYNC_TIMEOUT || e.type === SYNC_PENDING)) {
      const details = e.details?.[0] as SyncPendingDetails | undefined;
      const look = /\(look (\d+);/.exec(e.message); // the message names it too
      return {
        looks: details?.attempt ?? (look ? Number(look[1]) : null),
        addUser: details?.addUser ?? null,
        outOfTime: true,
      };
    }
  }
  const outOfTime = err instanceof ActivityFailure && err.cause instanceof TimeoutFailure;
  return { looks: null, addUser: null, outOfTime };
}
