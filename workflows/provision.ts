// `provisionNonInteractiveUser`: the eight steps of docs/design.md, in order, each an
// activity with its own timeout and retry policy; durable timers for every wait; compensation
// in a non-cancellable scope on failure and on cancellation.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  log,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  ActivityFailure,
  TimeoutFailure,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { SystemUser } from '../activities/dataverse';
import { SYNC_PENDING, SYNC_TIMEOUT, type SyncPendingDetails } from './sync-wait';
import {
  admissionSignal,
  capacityDecidedSignal,
  lockGrantedSignal,
  NiuStep,
  releaseCapacitySignal,
  releaseLockSignal,
  statusQuery,
} from './definitions';
import { StatusBuilder } from './status';
import { resolveTiming } from './timing';
import {
  capacityWorkflowId,
  NON_RETRYABLE_FAILURE_TYPES as NON_RETRYABLE,
  upnLockWorkflowId,
  type AdmissionRequest,
  type CapacityDecision,
  type FinalSteps,
  type LockDecision,
  type ProvisionInput,
  type ProvisionResult,
  type ProvisionTiming,
  type StepName,
} from './types';

/**
 * The activities with their per-step options. Calls to Microsoft retry without an attempt cap
 * (maximumAttempts unset) but within a time window (throttling can last minutes), backing off exponentially up to a
 * ceiling; a Retry-After from the service overrides the back-off for that retry (errors.ts).
 * Built per run because the ceilings come from the request's timing.
 */
function stepActivities(timing: ProvisionTiming) {
  const remote = (summary: string, extra: Partial<ActivityOptions> = {}): ActivityOptions => ({
    startToCloseTimeout: '60 seconds',
    scheduleToCloseTimeout: timing.stepRetryWindowMs,
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumInterval: Math.max(1000, timing.retryMaxIntervalMs),
      nonRetryableErrorTypes: NON_RETRYABLE,
    },
    summary,
    ...extra,
  });
  // Compensation must get through: a longer window, same idempotent activities.
  const undo = (summary: string): ActivityOptions =>
    remote(summary, {
      scheduleToCloseTimeout: Math.max(timing.stepRetryWindowMs, 30 * 60_000),
      retry: {
        initialInterval: '1 second',
        backoffCoefficient: 2,
        maximumInterval: Math.max(1000, timing.retryMaxIntervalMs),
        nonRetryableErrorTypes: ['permission-denied', 'invalid-request', 'unknown-environment'],
      },
    });
  const one = <K extends keyof Activities>(name: K, options: ActivityOptions): Activities[K] =>
    proxyActivities<Activities>(options)[name];
  return {
    admit: one('admit', remote('take the per-account lock, then ask for a non-interactive user slot')),
    requestSlot: one('requestSlot', remote('ask for a non-interactive user slot')),
    acquireUpnLock: one('acquireUpnLock', remote('take the per-account lock', { startToCloseTimeout: '30 seconds' })),
    reserveCapacity: one('reserveCapacity', remote('reserve a non-interactive user slot')),
    createEntraUser: one('createEntraUser', remote('create or adopt the Entra ID account')),
    assignLicense: one('assignLicense', remote('assign the Dynamics 365 license')),
    // The whole wait is one activity retried by Temporal (activities/await-sync.ts explains
    // why): no attempt cap, the sync timeout as deadline, each attempt picks the next delay.
    awaitSystemUser: one('awaitSystemUser', {
      startToCloseTimeout: '30 seconds',
      // A backstop: the activity itself gives up at syncTimeoutMs (activities/await-sync.ts).
      scheduleToCloseTimeout: Math.max(1000, timing.syncTimeoutMs) + 120_000,
      retry: {
        // Used only for failures without their own delay (5xx, network); looks set nextRetryDelay.
        initialInterval: '1 second',
        backoffCoefficient: 2,
        maximumInterval: Math.max(1000, timing.retryMaxIntervalMs),
        nonRetryableErrorTypes: NON_RETRYABLE,
      },
      summary: 'wait for the Dataverse systemuser (force the sync, look again with back-off)',
    }),
    setAccessMode: one('setAccessMode', remote('set access mode to non-interactive')),
    assignSecurityRoles: one('assignSecurityRoles', remote('assign security roles')),
    removeLicense: one('removeLicense', remote('remove the Dynamics 365 license')),
    readSystemUser: one('readSystemUser', remote('re-read the access mode')),
    undoLicense: one('removeLicense', undo('compensate: remove the license')),
    deleteEntraUser: one('deleteEntraUser', undo('compensate: delete the account this request created')),
    undoAccessMode: one('setAccessMode', undo('compensate: reset the access mode')),
    // Messages to the admission entity: local activities, recorded as one marker each inside the
    // workflow task that sends them (an activity cost a workflow task round trip and 3 events more).
    requestAdmission: proxyLocalActivities<Activities>({
      startToCloseTimeout: '30 seconds',
      scheduleToCloseTimeout: timing.stepRetryWindowMs,
      retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
      summary: 'ask for the account lock and a non-interactive user slot',
    }).requestAdmission,
    releaseAdmission: proxyLocalActivities<Activities>({
      startToCloseTimeout: '30 seconds',
      retry: { initialInterval: '1 second', maximumInterval: '10 seconds', maximumAttempts: 5 },
      summary: 'give back the slot or the account lock',
    }).releaseAdmission,
  };
}

/**
 * Patch ids (workflow versioning): runs that started before a change replay the commands they
 * recorded, runs started after it take the new path.
 * - ADMIT: the account lock and the capacity slot asked in one activity (`admit`).
 * - RELEASE_ALONGSIDE: the capacity slot is released alongside the next step, not before it.
 * - ADMISSION_ENTITY: lock and slot from the one admission entity (workflows/admission.ts), asked
 *   and given back by local activity; no lock workflow per account.
 * - RELEASE_WITH_ACCESS_MODE: the slot is given back by the set-access-mode activity itself, once
 *   the mode is 4 (activities/index.ts), not by a local activity after it.
 */
const ADMIT = 'admit-in-one-activity';
const RELEASE_ALONGSIDE = 'release-capacity-alongside-next-step';
const ADMISSION_ENTITY = 'admission-entity';
const RELEASE_WITH_ACCESS_MODE = 'release-slot-with-access-mode';

const NON_INTERACTIVE = 4;
const READ_WRITE = 0;

/** Looks made, from the `sync-timeout` (or last `sync-pending`) in a failure's cause chain. */
function looksOf(err: unknown): number | null {
  for (let e: unknown = err; e instanceof Error; e = (e as Error & { cause?: unknown }).cause) {
    if (e instanceof ApplicationFailure && (e.type === SYNC_TIMEOUT || e.type === SYNC_PENDING)) {
      const details = e.details?.[0] as SyncPendingDetails | undefined;
      if (details?.attempt) return details.attempt;
      const look = /\(look (\d+);/.exec(e.message); // the message names it too
      return look ? Number(look[1]) : null;
    }
  }
  return null;
}

function timedOut(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof TimeoutFailure;
}

/** The `{type, message}` of whatever ended the request. */
function describe(err: unknown): { type: string; message: string } {
  let e: unknown = err;
  if (e instanceof ActivityFailure && e.cause) e = e.cause;
  if (e instanceof ApplicationFailure) return { type: e.type ?? 'internal', message: e.message };
  return { type: 'internal', message: e instanceof Error ? e.message : String(e) };
}

export async function provisionNonInteractiveUser(input: ProvisionInput): Promise<ProvisionResult> {
  const info = workflowInfo();
  const timing = resolveTiming(input.timing);
  const {
    admit,
    requestSlot,
    acquireUpnLock,
    reserveCapacity,
    createEntraUser,
    assignLicense,
    awaitSystemUser,
    setAccessMode,
    assignSecurityRoles,
    removeLicense,
    readSystemUser,
    undoLicense,
    deleteEntraUser,
    undoAccessMode,
    requestAdmission,
    releaseAdmission,
  } = stepActivities(timing);
  const status = new StatusBuilder(input, new Date());
  setHandler(statusQuery, () => status.snapshot());

  const requestId = info.workflowId;
  // Written on the account this run creates (graph.ts ACCOUNT_MARK); unique per run.
  const requestTag = info.runId.replace(/-/g, '').slice(0, 16);
  const env = input.environment;
  const upn = input.userPrincipalName;

  let lockGranted = false;
  setHandler(lockGrantedSignal, () => {
    lockGranted = true;
  });
  // The capacity entity's answer, sent to this run (the first one counts; a retried request may
  // be answered twice). The requestId it carries is for people reading the history.
  let decided: CapacityDecision | null = null;
  setHandler(capacityDecidedSignal, (decision) => {
    decided ??= decision;
  });
  // The admission entity's answers: queued behind another request for the account, then decided.
  let queuedAt: number | null = null;
  setHandler(admissionSignal, (message) => {
    if (message.outcome === 'queued') queuedAt ??= message.position;
    else decided ??= message.decision;
  });
  // Which admission this run uses (set first thing in the run; patch ADMISSION_ENTITY).
  let viaEntity = false;

  // What this run did, so compensation undoes exactly that.
  const did = {
    lockRequested: false,
    capacityRequested: false,
    capacityGranted: false,
    capacityReleased: false,
    createAttempted: false,
    created: false,
    licenseAttempted: false,
    accessModeSet: false,
  };
  let entraObjectId: string | null = null;
  let systemUserId: string | null = null;
  let passwordSecretId: string | null = null;
  let current: StepName = 'reserve-capacity';

  const begin = (step: StepName, detail: string | null = null): void => {
    current = step;
    status.start(step, detail);
    upsertSearchAttributes([{ key: NiuStep, value: step }]);
    setCurrentDetails(`**${step}**${detail ? `: ${detail}` : ''}`);
  };

  // Once per run; every caller gets the same promise, so the run never completes before the
  // signal is delivered (the server drops a signal whose sender has closed).
  let capacityRelease: Promise<void> | null = null;
  const releaseCapacity = (): Promise<void> => {
    if (!did.capacityRequested) return Promise.resolve();
    did.capacityReleased = true;
    capacityRelease ??= CancellationScope.nonCancellable(async () => {
      try {
        if (viaEntity) await releaseAdmission({ requestId, runId: info.runId, lock: false });
        else
          await getExternalWorkflowHandle(capacityWorkflowId(env, info.taskQueue)).signal(releaseCapacitySignal, {
            requestId,
          });
      } catch (err) {
        log.warn('capacity release not delivered', { error: String(err) });
      }
    });
    return capacityRelease;
  };
  const releaseLock = async (): Promise<void> => {
    if (!did.lockRequested) return;
    try {
      // The entity's lock release gives back the slot too.
      if (viaEntity) return await releaseAdmission({ requestId, runId: info.runId, lock: true });
      await getExternalWorkflowHandle(upnLockWorkflowId(upn, info.taskQueue)).signal(releaseLockSignal, {
        workflowId: info.workflowId,
        runId: info.runId,
      });
    } catch (err) {
      log.warn('account lock release not delivered', { error: String(err) });
    }
  };

  const waitingForAccount = (position: number | null): void => {
    status.waiting('reserve-capacity', `another request for this account runs first (queue position ${position})`);
    setCurrentDetails(`**reserve-capacity**: waiting for another request for ${upn}`);
  };
  // The entity answers by signal; bounded like any step, in case it never does.
  const answered = async (what: () => boolean): Promise<void> => {
    if (!(await condition(what, timing.stepRetryWindowMs))) {
      throw ApplicationFailure.create({
        type: 'internal',
        message: `no capacity decision for ${env} within ${Math.round(timing.stepRetryWindowMs / 1000)} s`,
        nonRetryable: true,
      });
    }
  };
  const admission: AdmissionRequest = {
    requestId,
    workflowId: info.workflowId,
    runId: info.runId,
    environment: env,
    userPrincipalName: upn,
  };

  /** Lock and slot from the admission entity; waiting for the account's lock is not bounded. */
  const admitThroughEntity = async (): Promise<CapacityDecision> => {
    did.capacityRequested = true;
    await requestAdmission(admission);
    await answered(() => decided !== null || queuedAt !== null);
    if (decided === null) {
      waitingForAccount(queuedAt);
      await condition(() => decided !== null);
      status.running('reserve-capacity', 'account lock taken');
    }
    return decided!;
  };

  /** Runs started before ADMISSION_ENTITY: a lock workflow per account, a capacity entity per environment. */
  const admitThroughLockWorkflow = async (): Promise<CapacityDecision> => {
    const admitted = patched(ADMIT);
    let lock: LockDecision;
    // did.capacityRequested is set where it was before the change (replay runs the same releases).
    if (admitted) {
      did.capacityRequested = true;
      ({ lock } = await admit(admission));
    } else lock = await acquireUpnLock({ userPrincipalName: upn, workflowId: info.workflowId, runId: info.runId });
    if (!lock.granted && !lockGranted) {
      waitingForAccount(lock.position);
      await condition(() => lockGranted);
      status.running('reserve-capacity', 'account lock taken');
    }
    did.capacityRequested = true;
    if (!admitted) return reserveCapacity({ environment: env, requestId, userPrincipalName: upn });
    if (!lock.granted) await requestSlot(admission);
    await answered(() => decided !== null);
    return decided!;
  };

  try {
    // 0. reserve-capacity: first the account lock (requests for the same UPN run one after the
    // other), then one slot of the environment's non-interactive user limit.
    begin('reserve-capacity', 'taking the account lock');
    did.lockRequested = true;
    viaEntity = patched(ADMISSION_ENTITY);
    const slot = viaEntity ? await admitThroughEntity() : await admitThroughLockWorkflow();
    if (!slot.granted) {
      throw ApplicationFailure.create({
        type: 'capacity-exhausted',
        message:
          `environment ${env} has reached its limit of ${slot.limit} non-interactive users ` +
          `(${slot.used} in use, ${slot.reserved} reserved by requests in flight)`,
        nonRetryable: true,
      });
    }
    did.capacityGranted = true;
    status.complete(
      'reserve-capacity',
      `slot reserved (limit ${slot.limit}, in use ${slot.used}, reserved ${slot.reserved})`,
    );

    // 1. create-entra-user (or adopt this service's account; someone else's: upn-conflict).
    begin('create-entra-user');
    did.createAttempted = true;
    const account = await createEntraUser({
      environment: env,
      userPrincipalName: upn,
      displayName: input.displayName,
      usageLocation: input.usageLocation,
      requestTag,
      requestId,
    });
    entraObjectId = account.entraObjectId;
    did.created = account.created;
    passwordSecretId = account.passwordSecretId;
    status.complete('create-entra-user', account.created ? 'account created' : 'existing integration account adopted');

    // 2. assign-license
    begin('assign-license', input.licenseSku);
    did.licenseAttempted = true;
    const lic = await assignLicense({ entraObjectId, licenseSku: input.licenseSku });
    status.complete(
      'assign-license',
      lic.assigned ? `${input.licenseSku} assigned` : `${input.licenseSku} already held`,
    );

    // 3. await-dataverse-user: force the sync while addUser says "not licensed yet", look for
    // the systemuser with capped back-off, give up after syncTimeoutMs. One activity that
    // Temporal retries (activities/await-sync.ts): a constant handful of history events for the
    // whole wait and no activity slot held between looks, however many requests wait.
    begin('await-dataverse-user');
    const waitDetail =
      `waiting for the systemuser: forcing the sync for up to ${Math.round(timing.forceSyncWindowMs / 1000)} s, ` +
      `looking again with back-off up to every ${Math.round(timing.syncPollMaxMs / 1000)} s, for at most ${Math.round(timing.syncTimeoutMs / 1000)} s`;
    status.waiting('await-dataverse-user', waitDetail);
    setCurrentDetails(`**await-dataverse-user**: ${waitDetail}`);
    let found: SystemUser;
    try {
      const synced = await awaitSystemUser({
        environment: env,
        entraObjectId,
        syncTimeoutMs: timing.syncTimeoutMs,
        forceSyncWindowMs: timing.forceSyncWindowMs,
        forceSyncIntervalMs: timing.forceSyncIntervalMs,
        syncPollInitialMs: timing.syncPollInitialMs,
        syncPollMaxMs: timing.syncPollMaxMs,
      });
      found = synced.systemUser;
      status.attemptsAre('await-dataverse-user', synced.attempts);
    } catch (err) {
      if (isCancellation(err)) throw err;
      const looks = looksOf(err);
      if (looks) status.attemptsAre('await-dataverse-user', looks);
      // Out of time: the activity's own sync-timeout at the deadline or, as a backstop, the
      // schedule-to-close timeout (or the server declining a retry past it).
      if (looks !== null || timedOut(err)) {
        throw ApplicationFailure.create({
          type: 'sync-timeout',
          message: `the user did not appear in ${env} within ${Math.round(timing.syncTimeoutMs / 1000)} s`,
          nonRetryable: true,
        });
      }
      throw err;
    }
    systemUserId = found.systemUserId;
    status.complete('await-dataverse-user', `systemuser ${systemUserId}`);

    // 4. set-access-mode. From here Dataverse counts the user, so the slot goes back.
    begin('set-access-mode');
    // Compensation resets the mode only if this request changed it.
    did.accessModeSet = found.accessMode !== NON_INTERACTIVE;
    const releaseWithMode = viaEntity && patched(RELEASE_WITH_ACCESS_MODE);
    const set = await setAccessMode({
      environment: env,
      systemUserId,
      accessMode: NON_INTERACTIVE,
      ...(releaseWithMode ? { releaseSlot: { requestId, runId: info.runId } } : {}),
    });
    if (set.accessMode !== NON_INTERACTIVE) {
      throw ApplicationFailure.create({
        type: 'access-mode-reverted',
        message: `access mode is ${set.accessMode} right after setting it to ${NON_INTERACTIVE}`,
      });
    }
    status.complete('set-access-mode', 'access mode 4 (non-interactive)');
    if (releaseWithMode) {
      // Given back by the activity (mode 4 is what it released on): nothing left to send or wait for.
      did.capacityReleased = true;
      capacityRelease = Promise.resolve();
    } else if (patched(RELEASE_ALONGSIDE)) {
      // The next step starts in the same workflow task as the release; the `finally` below waits
      // for its delivery. Awaiting it here cost a workflow task round trip per request.
      void releaseCapacity();
    } else {
      await releaseCapacity();
    }

    // 4b. assign-security-roles, while the user is still licensed (roles need an enabled user).
    if (input.securityRoles.length === 0 && !input.businessUnit) {
      status.skip('assign-security-roles', 'no security roles requested');
    } else {
      begin('assign-security-roles', input.securityRoles.join(', '));
      await assignSecurityRoles({
        environment: env,
        systemUserId,
        roles: input.securityRoles,
        businessUnit: input.businessUnit ?? null,
      });
      status.complete('assign-security-roles', input.securityRoles.join(', ') || `business unit ${input.businessUnit}`);
    }

    // 5. remove-license
    begin('remove-license', input.licenseSku);
    await removeLicense({ entraObjectId, licenseSku: input.licenseSku });
    status.complete('remove-license', `${input.licenseSku} removed`);

    // 6. verify-access-mode: settle, re-read, re-apply (bounded) if the platform reverted it.
    begin('verify-access-mode');
    for (let reapplied = 0; ;) {
      status.waiting('verify-access-mode', `settling for ${Math.round(timing.verifySettleMs / 1000)} s`);
      await sleep(timing.verifySettleMs);
      status.running('verify-access-mode', 're-reading the access mode');
      const now = await readSystemUser({ environment: env, systemUserId });
      if (now.accessMode === NON_INTERACTIVE) break;
      if (reapplied >= timing.verifyMaxReapply) {
        throw ApplicationFailure.create({
          type: 'access-mode-reverted',
          message: `the platform reset the access mode to ${now.accessMode} ${reapplied + 1} times`,
          nonRetryable: true,
        });
      }
      reapplied += 1;
      log.warn('access mode reverted; setting it again', { accessMode: now.accessMode, reapplied });
      status.attempt('verify-access-mode', `access mode was ${now.accessMode}; set to 4 again (${reapplied})`);
      await setAccessMode({ environment: env, systemUserId, accessMode: NON_INTERACTIVE });
    }
    status.complete('verify-access-mode', 'access mode is 4 (non-interactive)');

    const result: ProvisionResult = {
      entraObjectId,
      systemUserId,
      accessMode: 'non-interactive',
      passwordSecretId,
    };
    status.finish('succeeded', result, null);
    setCurrentDetails('**succeeded**');
    return { ...result, steps: status.snapshot().steps };
  } catch (err) {
    const cancelled = isCancellation(err);
    const error = cancelled ? { type: 'cancelled', message: 'the request was cancelled' } : describe(err);
    status.fail(current, error);
    setCurrentDetails(`**${cancelled ? 'cancelled' : 'failed'}** at ${current}: compensating`);
    await CancellationScope.nonCancellable(async () => {
      // Reverse order of the steps.
      // A mode-4 user counts toward the limit even unlicensed: give the slot back to the platform
      // (the account may stay, adopted from another environment; unlicensed, it gets disabled).
      if (did.accessModeSet && systemUserId) {
        try {
          await undoAccessMode({ environment: env, systemUserId, accessMode: READ_WRITE });
          status.compensated('set-access-mode', 'access mode reset to read-write');
        } catch (e) {
          log.warn('could not reset the access mode', { error: String(e) });
        }
      }
      // Under the account lock no other request of ours needs the license now.
      if (did.licenseAttempted && entraObjectId) {
        const r = await undoLicense({ entraObjectId, licenseSku: input.licenseSku });
        if (r.removed) status.compensated('assign-license', 'license removed');
      }
      if (did.createAttempted) {
        // Looks the account up by UPN when the create call never answered; deletes it only if
        // it carries this run's tag.
        const d = await deleteEntraUser({ entraObjectId, userPrincipalName: upn, requestTag });
        if (d.deleted) status.compensated('create-entra-user', 'account this request created deleted');
      }
      if (did.capacityGranted && !did.capacityReleased) {
        await releaseCapacity();
        status.compensated('reserve-capacity', 'slot released');
      }
    });
    status.finish(cancelled ? 'cancelled' : 'failed', null, error);
    setCurrentDetails(`**${cancelled ? 'cancelled' : 'failed'}**: ${error.type}`);
    if (cancelled) throw err;
    const { steps, currentStep } = status.snapshot();
    throw ApplicationFailure.create({
      type: error.type,
      message: error.message,
      nonRetryable: true,
      cause: err as Error,
      details: [{ steps, currentStep } satisfies FinalSteps],
    });
  } finally {
    await CancellationScope.nonCancellable(async () => {
      // Through the entity the lock's release gives back the slot too: only one already under
      // way is waited for (the server drops a signal whose sender has closed; so may a marker).
      if (viaEntity) await capacityRelease;
      else await releaseCapacity();
      await releaseLock();
    });
  }
}
