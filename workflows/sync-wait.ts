// Shared by the workflow and the awaitSystemUser activity (activities/await-sync.ts): the
// failure type of "not synced yet" and what it carries. Plain values, safe in workflow code.

/** Retryable failure type of one look that did not find the systemuser yet. */
export const SYNC_PENDING = 'sync-pending';

/** Non-retryable failure type of the look at the deadline (also the request's error type). */
export const SYNC_TIMEOUT = 'sync-timeout';

/** Details of a sync-pending failure (so the workflow can report the looks after a timeout). */
export interface SyncPendingDetails {
  attempt: number;
  addUser: 'added' | 'not-licensed' | 'not-called';
  nextLookMs: number;
}
