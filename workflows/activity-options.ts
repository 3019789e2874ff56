// The provisioning workflow's activities with their options. Calls to Microsoft retry without an
// attempt cap but within a time window (throttling can last minutes), backing off exponentially
// up to a ceiling; a Retry-After from the service overrides the back-off for that retry
// (activities/errors.ts). Built per run because the windows and ceilings come from its timing.
import {
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
  type RetryPolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_FAILURE_TYPES, type ProvisionTiming } from './types';

/** Compensation must get through: a window of at least 30 minutes, and only these end it early. */
const UNDO_NON_RETRYABLE = ['permission-denied', 'invalid-request', 'unknown-environment'];

/** The options of a step's activity and of an undo's, from a run's retry window and ceiling. */
export function stepOptions(timing: Pick<ProvisionTiming, 'retryMaxIntervalMs' | 'stepRetryWindowMs'>) {
  const retry = (nonRetryableErrorTypes: string[]): RetryPolicy => ({
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: Math.max(1000, timing.retryMaxIntervalMs),
    nonRetryableErrorTypes,
  });
  const step = (summary: string): ActivityOptions => ({
    startToCloseTimeout: '60 seconds',
    scheduleToCloseTimeout: timing.stepRetryWindowMs,
    retry: retry(NON_RETRYABLE_FAILURE_TYPES),
    summary,
  });
  const undo = (summary: string): ActivityOptions => ({
    ...step(summary),
    scheduleToCloseTimeout: Math.max(timing.stepRetryWindowMs, 30 * 60_000),
    retry: retry(UNDO_NON_RETRYABLE),
  });
  const one = <K extends keyof Activities>(name: K, options: ActivityOptions): Activities[K] =>
    proxyActivities<Activities>(options)[name];
  return { retry, step, undo, one };
}

export function provisionActivities(timing: ProvisionTiming) {
  const { retry, step, undo, one } = stepOptions(timing);
  // Messages to the admission entity are local activities: one marker each inside the workflow
  // task that sends them (an activity costs a workflow task round trip and three events more).
  const message: LocalActivityOptions = {
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
  };

  return {
    requestAdmission: proxyLocalActivities<Activities>({
      ...message,
      scheduleToCloseTimeout: timing.stepRetryWindowMs,
      summary: 'ask for the account lock and a non-interactive user slot',
    }).requestAdmission,
    releaseAdmission: proxyLocalActivities<Activities>({
      ...message,
      retry: { ...message.retry, maximumAttempts: 5 },
      summary: 'give back the slot and the account lock',
    }).releaseAdmission,
    createEntraUser: one('createEntraUser', step('create or adopt the Entra ID account')),
    assignLicense: one('assignLicense', step('assign the Dynamics 365 license')),
    joinSecurityGroup: one('joinSecurityGroup', step("add the account to the environment's security group, if any")),
    // The whole wait is one activity that Temporal retries (activities/await-sync.ts says why):
    // no attempt cap; each attempt picks the next delay; the activity gives up at syncTimeoutMs,
    // and the schedule-to-close timeout is only a backstop.
    awaitSystemUser: one('awaitSystemUser', {
      startToCloseTimeout: '30 seconds',
      scheduleToCloseTimeout: Math.max(1000, timing.syncTimeoutMs) + 120_000,
      retry: retry(NON_RETRYABLE_FAILURE_TYPES),
      summary: 'wait for the Dataverse systemuser (force the sync, look again with back-off)',
    }),
    setAccessMode: one('setAccessMode', step('set access mode to non-interactive')),
    assignSecurityRoles: one('assignSecurityRoles', step('assign security roles')),
    removeLicense: one('removeLicense', step('remove the Dynamics 365 license')),
    readSystemUser: one('readSystemUser', step('re-read the access mode')),
    undoAccessMode: one('setAccessMode', undo('compensate: reset the access mode')),
    undoLicense: one('removeLicense', undo('compensate: remove the license')),
    deleteEntraUser: one('deleteEntraUser', undo('compensate: delete the account this request created')),
    leaveSecurityGroup: one('leaveSecurityGroup', undo('compensate: remove the account from the security group')),
  };
}

export type ProvisionActivities = ReturnType<typeof provisionActivities>;
