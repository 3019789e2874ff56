// The admission entity's local activities. Local, because they run in the worker's own
// local-activity slots inside the entity's workflow task: an entity whose reads queued for
// activity slots behind hundreds of provisioning steps would hold up every admission.
import { proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

export const { closedRuns } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
  summary: 'find runs that ended without releasing what they hold',
});

/** Answers sent to the requesting runs with the client (activities/entities.ts says why). */
export const { deliverAdmissions } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '60 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
  summary: 'send the answers to the requesting runs',
});

export const { readEnvironmentCapacity } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
  summary: 'read the non-interactive user limit and count',
});
