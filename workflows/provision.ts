// `provisionNonInteractiveUser`: Microsoft's manual recipe for a non-interactive user, as eight
// steps in order (docs/design.md), each one short block. Every call to Microsoft is an activity
// with its own timeout and retry policy (workflows/activity-options.ts); every wait is a durable
// timer; what a step changed is undone, in reverse, if the run fails or is cancelled.
import { ApplicationFailure, log, sleep, workflowInfo } from '@temporalio/workflow';
import { provisionActivities } from './activity-options';
import { AdmissionTicket } from './admission-ticket';
import { Compensations } from './compensation';
import { awaitDataverseUser } from './await-dataverse-user';
import { StepTracker } from './steps';
import { resolveTiming } from './timing';
import type { ProvisionInput, ProvisionResult } from './types';

const NON_INTERACTIVE = 4;
const READ_WRITE = 0;
const seconds = (ms: number): number => Math.round(ms / 1000);

export async function provisionNonInteractiveUser(input: ProvisionInput): Promise<ProvisionResult> {
  const timing = resolveTiming(input.timing);
  const act = provisionActivities(timing);
  const steps = new StepTracker(input);
  const admission = new AdmissionTicket(input, act);
  const undo = new Compensations();
  const { environment, userPrincipalName, licenseSku, securityRoles, businessUnit } = input;
  const requestId = workflowInfo().workflowId;
  // Written on the account this run creates (activities/graph.ts): compensation deletes an
  // account only if it carries this run's tag, never someone else's.
  const requestTag = workflowInfo().runId.replace(/-/g, '').slice(0, 16);

  try {
    // 0. reserve-capacity: the account's lock (requests for one account run one after the other),
    // then a slot of the environment's non-interactive user limit.
    steps.begin('reserve-capacity', 'taking the account lock');
    const slot = await admission.admit(timing.stepRetryWindowMs, (position) =>
      steps.queued('reserve-capacity', position),
    );
    if (!slot.granted) {
      throw ApplicationFailure.create({
        type: 'capacity-exhausted',
        message:
          `environment ${environment} has reached its limit of ${slot.limit} non-interactive users ` +
          `(${slot.used} in use, ${slot.reserved} reserved by requests in flight)`,
        nonRetryable: true,
      });
    }
    // The lock's release gives back the slot too, unless set-access-mode already has.
    let slotHeld = true;
    undo.add('reserve-capacity', async () => {
      await admission.release();
      if (slotHeld) steps.compensated('reserve-capacity', 'slot released');
    });
    steps.complete(
      'reserve-capacity',
      `slot reserved (limit ${slot.limit}, in use ${slot.used}, reserved ${slot.reserved})`,
    );

    // 1. create-entra-user, or adopt the account this service made before (someone else's: upn-conflict).
    steps.begin('create-entra-user');
    let entraObjectId: string | null = null;
    undo.add('create-entra-user', async () => {
      // Looks the account up by UPN when the create call never answered.
      const d = await act.deleteEntraUser({ entraObjectId, userPrincipalName, requestTag });
      if (d.deleted) steps.compensated('create-entra-user', 'account this request created deleted');
    });
    const account = await act.createEntraUser({
      environment,
      userPrincipalName,
      displayName: input.displayName,
      usageLocation: input.usageLocation,
      requestTag,
      requestId,
    });
    entraObjectId = account.entraObjectId;
    steps.complete('create-entra-user', account.created ? 'account created' : 'existing integration account adopted');

    // 2. assign-license
    steps.begin('assign-license', licenseSku);
    undo.add('assign-license', async () => {
      // Under the account's lock no other request of ours needs the license now.
      const r = await act.undoLicense({ entraObjectId: account.entraObjectId, licenseSku });
      if (r.removed) steps.compensated('assign-license', 'license removed');
    });
    const license = await act.assignLicense({ entraObjectId: account.entraObjectId, licenseSku });
    steps.complete('assign-license', license.assigned ? `${licenseSku} assigned` : `${licenseSku} already held`);

    // 3. await-dataverse-user (workflows/await-dataverse-user.ts): the account joins the
    // environment's security group if it has one (the sync needs the license and the group), then
    // the wait: force the sync while addUser says "not yet", look for the systemuser with capped
    // back-off, give up after syncTimeoutMs.
    const synced = await awaitDataverseUser(
      { act, steps, undo, timing },
      { environment, entraObjectId: account.entraObjectId, accountCreated: account.created },
    );
    const { systemUserId } = synced.systemUser;

    // 4. set-access-mode. From here Dataverse counts the user: the activity gives the slot back
    // once the mode is 4. Compensation resets the mode only if this request changed it.
    steps.begin('set-access-mode');
    if (synced.systemUser.accessMode !== NON_INTERACTIVE) {
      undo.add('set-access-mode', async () => {
        // A mode-4 user counts toward the limit even unlicensed: give the slot back to the platform.
        await act.undoAccessMode({ environment, systemUserId, accessMode: READ_WRITE });
        steps.compensated('set-access-mode', 'access mode reset to read-write');
      });
    }
    const set = await act.setAccessMode({
      environment,
      systemUserId,
      accessMode: NON_INTERACTIVE,
      releaseSlot: admission.slot,
    });
    if (set.accessMode !== NON_INTERACTIVE) {
      throw ApplicationFailure.create({
        type: 'access-mode-reverted',
        message: `access mode is ${set.accessMode} right after setting it to ${NON_INTERACTIVE}`,
      });
    }
    slotHeld = false;
    steps.complete('set-access-mode', 'access mode 4 (non-interactive)');

    // 4b. assign-security-roles, while the user is still licensed (roles need an enabled user).
    if (securityRoles.length === 0 && !businessUnit) {
      steps.skip('assign-security-roles', 'no security roles requested');
    } else {
      steps.begin('assign-security-roles', securityRoles.join(', '));
      await act.assignSecurityRoles({
        environment,
        systemUserId,
        roles: securityRoles,
        businessUnit: businessUnit ?? null,
      });
      steps.complete('assign-security-roles', securityRoles.join(', ') || `business unit ${businessUnit}`);
    }

    // 5. remove-license
    steps.begin('remove-license', licenseSku);
    await act.removeLicense({ entraObjectId: account.entraObjectId, licenseSku });
    steps.complete('remove-license', `${licenseSku} removed`);

    // 6. verify-access-mode: let it settle, re-read, set it again (bounded) if the platform reverted it.
    steps.begin('verify-access-mode');
    for (let reapplied = 0; ; reapplied++) {
      steps.waiting('verify-access-mode', `settling for ${seconds(timing.verifySettleMs)} s`);
      await sleep(timing.verifySettleMs);
      steps.running('verify-access-mode', 're-reading the access mode');
      const now = await act.readSystemUser({ environment, systemUserId });
      if (now.accessMode === NON_INTERACTIVE) break;
      if (reapplied >= timing.verifyMaxReapply) {
        throw ApplicationFailure.create({
          type: 'access-mode-reverted',
          message: `the platform reset the access mode to ${now.accessMode} ${reapplied + 1} times`,
          nonRetryable: true,
        });
      }
      log.warn('access mode reverted; setting it again', { accessMode: now.accessMode, reapplied: reapplied + 1 });
      steps.attempt('verify-access-mode', `access mode was ${now.accessMode}; set to 4 again (${reapplied + 1})`);
      await act.setAccessMode({ environment, systemUserId, accessMode: NON_INTERACTIVE });
    }
    steps.complete('verify-access-mode', 'access mode is 4 (non-interactive)');

    return steps.succeeded({
      entraObjectId: account.entraObjectId,
      systemUserId,
      accessMode: 'non-interactive',
      passwordSecretId: account.passwordSecretId,
    });
  } catch (err) {
    return await steps.endWith(err, undo);
  } finally {
    await admission.release();
  }
}
