// The local activities of the entity workflows (admission, and for runs started before it the
// capacity and account-lock entities), declared once.
//
// Local activities, not activities: a reserveCapacity activity (the update path) held an activity
// slot while it waited for an entity's answer, so under load (200 requests at once, the benchmark)
// all slots were taken by waiting reservations and the entity's own read queued behind them until
// their start-to-close timeouts freed slots: a minute per batch. Local activities run in the
// worker's separate local-activity slots, inside the entity's workflow task, and are short.
import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

export const { closedRuns } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
  summary: 'find runs that ended without releasing what they hold',
});

/** Answers sent to the requesting runs with the client (activities/entities.ts says why). */
export const { deliverAdmissions, deliverCapacityDecisions } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
  summary: 'send the answers to the requesting runs',
});

export const { readEnvironmentCapacity } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
  summary: 'read the non-interactive user limit and count',
});
