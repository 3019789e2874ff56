// `auditEnvironment`: the drift audit one environment's Temporal Schedule runs (worker/audit-schedules.ts).
// It reads the environment live (one activity, activities/audit.ts), decides the findings
// (workflows/audit-rules.ts) and, when the environment's `auditRepair` is on, repairs this
// service's users only: access mode set to 4 again, the stray license removed. Each repair is an
// activity of its own, under the account's lock (workflows/account-lock.ts), so it shows in the
// history and never runs beside a provisioning, deprovisioning or rotation of the same account.
//
// `readInventory`: the same read and rules without repairs, for the API's inventory route.
import {
  ParentClosePolicy,
  defineQuery,
  log,
  proxyActivities,
  setHandler,
  startChild,
  type ActivityOptions,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import { withAccountLock } from './account-lock';
import { auditFindings, dueForRotation, inventoryOf, mayRepair } from './audit-rules';
import { NiuEnvironment, NiuUserPrincipalName } from './definitions';
import { ROTATE_PASSWORD_WORKFLOW_TYPE, rotationWorkflowIdFor, type RotationInput } from './lifecycle-types';
import type { rotateNonInteractiveUserPassword } from './rotate-password';
import {
  AUDIT_PROGRESS_QUERY,
  type AuditProgress,
  type AuditReport,
  type AuditSnapshot,
  type Finding,
  type Inventory,
} from './audit-types';

export const auditProgressQuery = defineQuery<AuditProgress>(AUDIT_PROGRESS_QUERY);

const NON_INTERACTIVE = 4;

const { readAuditSnapshot } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
  summary: 'read the non-interactive users, their accounts and the requests that made them',
});

// Repairs retry for a while (throttling), but a repair that cannot be made is reported, not fatal.
const repairOptions: ActivityOptions = {
  startToCloseTimeout: '60 seconds',
  scheduleToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '1 second',
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: ['capacity-exhausted', 'permission-denied', 'invalid-request', 'unknown-environment'],
  },
};
const { setAccessMode: repairAccessMode } = proxyActivities<Activities>({
  ...repairOptions,
  summary: 'repair: set access mode 4 (non-interactive) again',
});
const { removeLicense: repairLicense } = proxyActivities<Activities>({
  ...repairOptions,
  summary: 'repair: remove the license a non-interactive user does not need',
});

export async function auditEnvironment(input: { environment: string }): Promise<AuditReport> {
  const startedAt = new Date().toISOString();
  const progress: AuditProgress = { phase: 'reading', detail: 'reading the environment', findings: 0, repaired: 0 };
  setHandler(auditProgressQuery, () => progress);

  const snapshot = await readAuditSnapshot({ environment: input.environment });
  const findings = auditFindings(snapshot, Date.now());
  progress.findings = findings.length;
  for (const finding of findings.filter((f) => mayRepair(snapshot, f))) {
    progress.phase = 'repairing';
    progress.detail = `${finding.kind}: ${finding.userPrincipalName}`;
    try {
      finding.repaired = await withAccountLock(
        { environment: input.environment, userPrincipalName: finding.userPrincipalName! },
        (position) => {
          progress.detail = `${finding.kind}: ${finding.userPrincipalName} (waiting for the account, place ${position})`;
        },
        () => repair(input.environment, snapshot.licenseSku, finding),
      );
      if (finding.repaired) progress.repaired += 1;
    } catch (err) {
      log.warn('repair failed', {
        kind: finding.kind,
        userPrincipalName: finding.userPrincipalName,
        error: String(err),
      });
      finding.detail += `; repair failed: ${(err as Error).message}`;
    }
  }
  const rotations = await startRotations(input.environment, snapshot, progress);
  progress.phase = 'done';
  progress.detail = `${findings.length} findings, ${progress.repaired} repaired, ${rotations.length} rotations started`;
  return {
    environment: input.environment,
    startedAt,
    completedAt: new Date().toISOString(),
    repair: snapshot.repair,
    findings,
    rotations,
  };
}

/**
 * Starts the password rotation of each of this service's users whose password is due (the
 * environment's `rotatePasswordAfterDays`): the same workflow, id and search attributes as
 * `POST .../rotate-password`, so the API shows it, and abandoned when the audit ends (each takes
 * the account's lock and may wait for it). One already running is left to finish.
 */
async function startRotations(
  environment: string,
  snapshot: AuditSnapshot,
  progress: AuditProgress,
): Promise<AuditReport['rotations']> {
  const started: AuditReport['rotations'] = [];
  for (const user of dueForRotation(snapshot, Date.now())) {
    const workflowId = rotationWorkflowIdFor(environment, user.userPrincipalName);
    progress.detail = `rotating the password of ${user.userPrincipalName}`;
    const args: [RotationInput] = [
      { environment, userPrincipalName: user.userPrincipalName, entraObjectId: user.entraObjectId! },
    ];
    try {
      await startChild<typeof rotateNonInteractiveUserPassword>(ROTATE_PASSWORD_WORKFLOW_TYPE, {
        workflowId,
        args,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        typedSearchAttributes: [
          { key: NiuEnvironment, value: environment },
          { key: NiuUserPrincipalName, value: user.userPrincipalName.toLowerCase() },
        ],
        staticSummary: `Rotate the password of ${user.userPrincipalName} in ${environment} (drift audit)`,
      });
      started.push({ userPrincipalName: user.userPrincipalName, workflowId });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
  return started;
}

/** One repair; true when the state is now right. */
async function repair(environment: string, licenseSku: string, finding: Finding): Promise<boolean> {
  if (finding.kind === 'access-mode-reverted') {
    const user = await repairAccessMode({
      environment,
      systemUserId: finding.systemUserId!,
      accessMode: NON_INTERACTIVE,
    });
    return user.accessMode === NON_INTERACTIVE;
  }
  await repairLicense({ entraObjectId: finding.entraObjectId!, licenseSku });
  return true;
}

export async function readInventory(environment: string): Promise<Inventory> {
  const snapshot = await readAuditSnapshot({ environment });
  return inventoryOf(snapshot, Date.now());
}
