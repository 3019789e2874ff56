// An account's lock without a capacity slot, for any workflow that changes an account this
// service provisions (deprovisioning, password rotation, repairs): the same lock provisioning
// takes (workflows/admission-rules.ts), keyed by lower-case UPN, first come first served across
// every environment. Held, the run sees a quiet account: no provisioning, deprovisioning or
// rotation of it runs meanwhile.
//
// One lock at a time per run: the entity keys what it hands out by run (the request id is the
// workflow id, which is how it finds runs that closed without releasing). A run may take several
// accounts' locks one after the other.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { admissionSignal } from './definitions';
import type { AdmissionRequest } from './types';

/** The account a lock is for; the environment is where the run works (shown to operators). */
export interface LockedAccount {
  environment: string;
  userPrincipalName: string;
}

export interface AccountLockOptions {
  /** How long the entity may take to give its first answer (queued or locked); default 15 minutes. */
  answerWithinMs?: number;
}

const DEFAULT_ANSWER_WITHIN_MS = 15 * 60_000;

// Messages to the admission entity are local activities, as for provisioning
// (workflows/activity-options.ts): one marker each inside the workflow task that sends them.
const { requestAdmission } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' },
  summary: 'ask for the account lock',
});
const { releaseAdmission } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
  summary: 'give back the account lock',
});

export class AccountLock {
  private readonly request: AdmissionRequest;
  private readonly account: string;
  private locked = false;
  private queuedAt: number | null = null;
  private asked = false;
  private released: Promise<void> | null = null;

  constructor(who: LockedAccount) {
    const { workflowId, runId } = workflowInfo();
    this.account = who.userPrincipalName.toLowerCase();
    this.request = {
      requestId: workflowId,
      workflowId,
      runId,
      environment: who.environment,
      userPrincipalName: who.userPrincipalName,
      needsSlot: false,
    };
  }

  /**
   * Asks, then waits: for the entity's first answer at most `answerWithinMs` (it answers at once,
   * unless something is wrong), then for the lock as long as it takes (`onQueued` is told the
   * place in the queue), the run being cancellable meanwhile.
   */
  async acquire(onQueued: (position: number) => void, options: AccountLockOptions = {}): Promise<void> {
    // The handler is this lock's while it is asked for: an earlier lock of the run is released.
    setHandler(admissionSignal, (message) => {
      if (message.outcome === 'decided' || message.account !== this.account) return;
      if (message.outcome === 'locked') this.locked = true;
      else this.queuedAt ??= message.position;
    });
    this.asked = true;
    await requestAdmission(this.request);
    const within = options.answerWithinMs ?? DEFAULT_ANSWER_WITHIN_MS;
    if (!(await condition(() => this.locked || this.queuedAt !== null, within))) {
      throw ApplicationFailure.create({
        type: 'internal',
        message: `no answer to the lock request for ${this.request.userPrincipalName} within ${Math.round(within / 1000)} s`,
        nonRetryable: true,
      });
    }
    if (!this.locked) {
      onQueued(this.queuedAt!);
      await condition(() => this.locked);
    }
  }

  /**
   * Gives back the lock (or the place in its queue), once (every caller gets the same promise),
   * where a cancellation of the run cannot stop it: the run must not close before the message is
   * out. Never asked for: nothing to give back.
   */
  release(): Promise<void> {
    if (!this.asked) return Promise.resolve();
    this.released ??= CancellationScope.nonCancellable(async () => {
      try {
        await releaseAdmission({ requestId: this.request.requestId, runId: this.request.runId, lock: true });
      } catch (err) {
        // The entity also takes back what a closed run holds, when someone waits for it.
        log.warn('account lock release not delivered', { error: String(err) });
      }
    });
    return this.released;
  }
}

/**
 * Runs `body` holding `who`'s account lock, and gives the lock back however `body` ends.
 * `onQueued` is told the place in the queue when another run holds the lock.
 */
export async function withAccountLock<T>(
  who: LockedAccount,
  onQueued: (position: number) => void,
  body: () => Promise<T>,
  options: AccountLockOptions = {},
): Promise<T> {
  const lock = new AccountLock(who);
  try {
    await lock.acquire(onQueued, options);
    return await body();
  } finally {
    await lock.release();
  }
}
