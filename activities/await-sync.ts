// `awaitSystemUser`: the whole await-dataverse-user wait as ONE activity whose attempts Temporal
// retries on its own schedule, instead of a workflow loop of timer + activities per look.
//
// Why: each look of a workflow-driven loop costs about 11 history events (timer started/fired,
// activity scheduled/started/completed, two workflow tasks of three events), so a request that
// waits hours for the sync writes hundreds of events per hour, and with 10 s addUser retries in
// the first nine minutes over a thousand. Retries of an activity are not written to history at
// all: the server keeps the retry timer, and only the last attempt's start and its outcome are
// recorded. So the wait costs six events in total however long it lasts (scheduled, started,
// completed or failed, plus one workflow task), and no activity slot is held between looks:
// an attempt takes the few milliseconds of two HTTP calls, then the slot is free.
//
// Each attempt decides when the next one runs (nextRetryDelay): every forceSyncIntervalMs while
// addUser still answers "not licensed" (or "not in the security group" the account just joined)
// inside the force-sync window (Microsoft's own Terraform
// provider: every 10 s for up to 9 minutes), then capped exponential back-off from the attempt
// number. At the deadline (syncTimeoutMs after the first look) it fails for good with
// `sync-timeout`; the schedule-to-close timeout the workflow sets is a little longer, a backstop.
// While forcing, the looks keep to a grid from the first one: the delay leaves out this look's
// own run and how late it came. Otherwise each look's duration (two HTTP calls, the task's
// dispatch, the failure's report) adds up: with 1 s looks the twenty-first came 0.7 s late
// (bench:profile), a lag every request paid after its sync. Now the lateness does not grow.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { backoff } from '../workflows/timing';
import { SYNC_PENDING, SYNC_TIMEOUT, type SyncPendingDetails } from '../workflows/sync-wait';
import type { SystemUser } from './dataverse';
import type { AddUserInput, AddUserOutcome } from './powerplatform';

export interface AwaitSystemUserInput {
  environment: string;
  entraObjectId: string;
  /** The security group the account joined (null: none); addUser's "not part of it" is then "not yet". */
  securityGroupId: string | null;
  /** Give up (non-retryable `sync-timeout`) this long after the first look. */
  syncTimeoutMs: number;
  forceSyncWindowMs: number;
  forceSyncIntervalMs: number;
  syncPollInitialMs: number;
  syncPollMaxMs: number;
}

export interface AwaitSystemUserResult {
  systemUser: SystemUser;
  /** Looks it took (the activity's attempt number). */
  attempts: number;
}

/**
 * How far this look came after its place on a grid of `intervalMs` from the wait's first look;
 * 0 when it is not near a grid point (earlier looks at other intervals). Both times are the
 * server's, so a skewed worker clock does not enter.
 */
export function behindGrid(firstDueMs: number, thisDueMs: number, intervalMs: number): number {
  if (thisDueMs <= firstDueMs) return 0;
  const phase = (thisDueMs - firstDueMs) % intervalMs;
  return phase < intervalMs / 2 ? phase : 0;
}

export function awaitSyncActivities(deps: {
  addUser(input: AddUserInput): Promise<AddUserOutcome>;
  findSystemUser(input: { environment: string; entraObjectId: string }): Promise<SystemUser | null>;
}) {
  return {
    async awaitSystemUser(input: AwaitSystemUserInput): Promise<AwaitSystemUserResult> {
      const lookStarted = Date.now();
      const { attempt, scheduledTimestampMs, currentAttemptScheduledTimestampMs } = Context.current().info;
      // scheduledTimestampMs is the first attempt's schedule time: the wait's start.
      const forcing = lookStarted - scheduledTimestampMs < input.forceSyncWindowMs;
      const target = { environment: input.environment, entraObjectId: input.entraObjectId };
      // Look first: once the user is there (the background sync, or an earlier look's addUser),
      // the look that finds it makes one call, not two; it is the look every request waits for
      // after its sync, so the call it saves is latency. addUser is idempotent: in the window it
      // re-requests the sync, and once it says "added" the user is looked for again at once.
      let found = await deps.findSystemUser(target);
      if (found) return { systemUser: found, attempts: attempt };
      const added = forcing ? await deps.addUser({ ...target, securityGroupId: input.securityGroupId }) : 'not-called';
      if (added === 'added') found = await deps.findSystemUser(target);
      if (found) return { systemUser: found, attempts: attempt };
      // The activity owns the deadline (the schedule-to-close timeout is only a backstop): its
      // own failure reaches the workflow intact, with the number of looks.
      const left = scheduledTimestampMs + input.syncTimeoutMs - Date.now();
      if (left <= 0) {
        const details: SyncPendingDetails = { attempt, addUser: added, nextLookMs: 0 };
        throw ApplicationFailure.create({
          type: SYNC_TIMEOUT,
          message:
            `the user did not appear in ${input.environment} within ${Math.round(input.syncTimeoutMs / 1000)} s ` +
            `(look ${attempt}; addUser: ${added})`,
          details: [details],
          nonRetryable: true,
        });
      }
      const nextLookMs = Math.min(
        left,
        added === 'not-licensed' || added === 'not-in-group'
          ? input.forceSyncIntervalMs
          : backoff(attempt - 1, input.syncPollInitialMs, input.syncPollMaxMs),
      );
      const behind =
        nextLookMs === input.forceSyncIntervalMs
          ? behindGrid(scheduledTimestampMs, currentAttemptScheduledTimestampMs, nextLookMs)
          : 0;
      const details: SyncPendingDetails = { attempt, addUser: added, nextLookMs };
      throw ApplicationFailure.create({
        type: SYNC_PENDING,
        message: `the user is not in ${input.environment} yet (look ${attempt}; addUser: ${added})`,
        details: [details],
        // An expected outcome, not an error: the SDK logs benign failures at debug level (a
        // warning with a stack trace per look was most of the worker's log and a share of its
        // CPU while 20 requests waited) and leaves them out of its failure metrics.
        category: ApplicationFailureCategory.BENIGN,
        nextRetryDelay: Math.max(1, nextLookMs - (Date.now() - lookStarted) - behind),
      });
    },
  };
}
