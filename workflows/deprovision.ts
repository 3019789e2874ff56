// `deprovisionNonInteractiveUser`: the user stops counting toward its environment's limit and
// stops being usable, under the account's lock (workflows/account-lock.ts), so it never races a
// provisioning, a rotation or another deprovisioning of the account. Steps (docs/design.md):
//   lock-account            the account's lock, no capacity slot
//   release-access-mode     Dataverse access mode 4 -> 0 in this environment: what the limit counts
//   disable-entra-account   accountEnabled false, unless another environment still uses the account
//   await-dataverse-release durable timers with capped back-off until the systemuser reads mode != 4
//                           and disabled (bounded by syncTimeoutMs)
//   delete-password-secret  the password's Key Vault secret (soft delete), unless used elsewhere
//   delete-entra-account    only on request, only an account of ours used nowhere else
// Up to the secret's deletion a failure undoes the steps before it in reverse (the user is as
// provisioning left it, and the request can be repeated); from then on the user cannot be given
// back, so a failure of the last step leaves it deprovisioned with its account still there.
import { ApplicationFailure, sleep } from '@temporalio/workflow';
import { stepOptions } from './activity-options';
import { Compensations } from './compensation';
import {
  DEPROVISION_STEP_NAMES,
  type DeprovisionInput,
  type DeprovisionResult,
  type DeprovisionStepName,
} from './lifecycle-types';
import { StepTracker } from './steps';
import { backoff, resolveTiming } from './timing';
import { workflowIdFor } from './types';

const NON_INTERACTIVE = 4;
const READ_WRITE = 0;
const seconds = (ms: number): number => Math.round(ms / 1000);

function deprovisionActivities(timing: ReturnType<typeof resolveTiming>) {
  const { step, undo, one } = stepOptions(timing);
  return {
    inspectAccount: one('inspectAccount', step('read the account and where else it is used')),
    findSystemUser: one('findSystemUser', step("find the account's systemuser")),
    setAccessMode: one('setAccessMode', step('set access mode to read-write (no longer counted)')),
    readSystemUser: one('readSystemUser', step('re-read the systemuser')),
    setAccountEnabled: one('setAccountEnabled', step('disable the Entra ID account')),
    deletePasswordSecret: one('deletePasswordSecret', step("delete the password's secret")),
    deleteManagedAccount: one('deleteManagedAccount', step('delete the Entra ID account')),
    undoAccessMode: one('setAccessMode', undo('compensate: set access mode 4 again')),
    undoDisable: one('setAccountEnabled', undo('compensate: enable the account again')),
  };
}

export async function deprovisionNonInteractiveUser(input: DeprovisionInput): Promise<DeprovisionResult> {
  const timing = resolveTiming(input.timing);
  const act = deprovisionActivities(timing);
  const { environment, userPrincipalName, entraObjectId } = input;
  // The document's id is the user's (the provisioning's), as the API's routes name it.
  const steps = new StepTracker<DeprovisionStepName, DeprovisionResult>(
    input,
    DEPROVISION_STEP_NAMES,
    workflowIdFor(environment, userPrincipalName),
  );
  const undo = new Compensations<DeprovisionStepName>();
  const result: DeprovisionResult = {
    entraObjectId,
    systemUserId: null,
    accessMode: null,
    accountDisabled: false,
    passwordSecretDeleted: false,
    accountDeleted: false,
    stillUsedIn: [],
  };

  try {
    return await steps.underLock('lock-account', input, async () => {
      const account = await act.inspectAccount({ environment, entraObjectId });
      result.stillUsedIn = account.nonInteractiveElsewhere;
      const elsewhere = account.nonInteractiveElsewhere.join(', ');
      if (input.deleteAccount && elsewhere) {
        throw ApplicationFailure.create({
          type: 'account-in-use',
          message: `the account is still a non-interactive user in ${elsewhere}: deprovision it there first to delete it`,
          nonRetryable: true,
        });
      }
      steps.complete(
        'lock-account',
        account.exists ? 'account lock held' : 'account lock held; the account no longer exists',
      );

      // release-access-mode: what the limit counts. Compensation sets 4 again only if this run changed it.
      steps.begin('release-access-mode');
      const su = await act.findSystemUser({ environment, entraObjectId });
      if (!su) {
        steps.skip('release-access-mode', `no systemuser in ${environment}`);
      } else {
        result.systemUserId = su.systemUserId;
        if (su.accessMode === NON_INTERACTIVE) {
          undo.add('release-access-mode', async () => {
            await act.undoAccessMode({ environment, systemUserId: su.systemUserId, accessMode: NON_INTERACTIVE });
            steps.undone('release-access-mode', 'access mode 4 set again');
          });
        }
        const now = await act.setAccessMode({ environment, systemUserId: su.systemUserId, accessMode: READ_WRITE });
        result.accessMode = now.accessMode;
        steps.complete('release-access-mode', `access mode ${su.accessMode} -> ${now.accessMode} (read-write)`);
      }

      // disable-entra-account: the account serves every environment it was provisioned in.
      steps.begin('disable-entra-account');
      if (!account.exists) {
        steps.skip('disable-entra-account', 'the account no longer exists');
      } else if (elsewhere) {
        steps.skip('disable-entra-account', `left enabled: still a non-interactive user in ${elsewhere}`);
      } else {
        // Undone only if this run disabled it: it was enabled when inspected, under the lock.
        undo.add('disable-entra-account', async () => {
          if (!account.enabled) return;
          await act.undoDisable({ entraObjectId, enabled: true });
          steps.undone('disable-entra-account', 'account enabled again');
        });
        await act.setAccountEnabled({ entraObjectId, enabled: false });
        result.accountDisabled = true;
        steps.complete('disable-entra-account', account.enabled ? 'account disabled' : 'account was already disabled');
      }

      if (result.systemUserId) await awaitRelease(result.systemUserId);
      else steps.skip('await-dataverse-release', `no systemuser in ${environment}`);

      // delete-password-secret: from here the user is not given back (the password is gone).
      steps.begin('delete-password-secret');
      if (elsewhere) {
        steps.skip('delete-password-secret', `kept: the account is still used in ${elsewhere}`);
      } else {
        const secret = await act.deletePasswordSecret({ userPrincipalName });
        result.passwordSecretDeleted = secret.deleted;
        if (!secret.vault) steps.skip('delete-password-secret', 'no Key Vault configured');
        else
          steps.complete(
            'delete-password-secret',
            secret.deleted ? "secret deleted (recoverable for the vault's retention)" : 'no secret (deleted already)',
          );
      }
      undo.clear();

      steps.begin('delete-entra-account');
      if (!input.deleteAccount) {
        steps.skip('delete-entra-account', 'not requested (the account is kept, disabled)');
      } else {
        const deleted = await act.deleteManagedAccount({ entraObjectId });
        result.accountDeleted = deleted.deleted;
        steps.complete(
          'delete-entra-account',
          deleted.deleted ? 'account deleted (restorable for 30 days)' : 'the account no longer exists',
        );
      }
      return steps.succeeded(result);
    });
  } catch (err) {
    return await steps.endWith(err, undo);
  }

  /** Durable timers with capped back-off until Dataverse shows the user out of use, bounded. */
  async function awaitRelease(systemUserId: string): Promise<void> {
    steps.begin('await-dataverse-release');
    const started = Date.now();
    for (let look = 0; ; look++) {
      const now = await act.readSystemUser({ environment, systemUserId });
      if (now.accessMode !== NON_INTERACTIVE && now.isDisabled) break;
      const waited = Date.now() - started;
      if (waited >= timing.syncTimeoutMs) {
        throw ApplicationFailure.create({
          type: 'sync-timeout',
          message: `the systemuser still reads access mode ${now.accessMode}, ${now.isDisabled ? 'disabled' : 'enabled'}, after ${seconds(waited)} s`,
          nonRetryable: true,
        });
      }
      const delay = Math.min(
        backoff(look, timing.syncPollInitialMs, timing.syncPollMaxMs),
        timing.syncTimeoutMs - waited,
      );
      const seen = `access mode ${now.accessMode}, ${now.isDisabled ? 'disabled' : 'enabled'}`;
      steps.waiting('await-dataverse-release', `${seen}; looking again in ${seconds(delay)} s`);
      await sleep(delay);
      steps.running('await-dataverse-release');
      steps.attempt('await-dataverse-release');
    }
    steps.complete('await-dataverse-release', 'Dataverse shows the user disabled and no longer non-interactive');
  }
}
