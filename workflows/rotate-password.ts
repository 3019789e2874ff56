// `rotateNonInteractiveUserPassword`: a new generated password for a provisioned user, under the
// account's lock (workflows/account-lock.ts) so that it never races a provisioning or a
// deprovisioning of the account. The password is generated, stored as a new version of the
// account's Key Vault secret and set on the account inside one activity
// (activities/account-lifecycle.ts): only the new version's id comes back into history.
import { stepOptions } from './activity-options';
import { ROTATION_STEP_NAMES, type RotationInput, type RotationResult, type RotationStepName } from './lifecycle-types';
import { StepTracker } from './steps';
import { resolveTiming } from './timing';
import { workflowIdFor } from './types';

export async function rotateNonInteractiveUserPassword(input: RotationInput): Promise<RotationResult> {
  const { step, one } = stepOptions(resolveTiming(input.timing));
  const rotatePassword = one('rotatePassword', step('generate, store and set a new password'));
  const { environment, userPrincipalName, entraObjectId } = input;
  const steps = new StepTracker<RotationStepName, RotationResult>(
    input,
    ROTATION_STEP_NAMES,
    workflowIdFor(environment, userPrincipalName),
  );
  try {
    return await steps.underLock('lock-account', input, async () => {
      steps.complete('lock-account', 'account lock held');
      steps.begin('rotate-password');
      const { passwordSecretId } = await rotatePassword({
        environment,
        userPrincipalName,
        entraObjectId,
        requestId: workflowIdFor(environment, userPrincipalName),
      });
      steps.complete(
        'rotate-password',
        passwordSecretId ? 'new password set and stored as a new secret version' : 'new password set (no vault)',
      );
      return steps.succeeded({ entraObjectId, passwordSecretId });
    });
  } catch (err) {
    // Nothing to undo: the account has its old password or the new one. The activity stores a
    // version before it sets it, so a failure in between leaves a latest version the account
    // does not have; the next rotation sets and stores a matching pair again.
    return await steps.endWith(err);
  }
}
