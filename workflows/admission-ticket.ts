// A provisioning run's side of admission (the entity is workflows/admission.ts): ask for the
// account's lock and a slot, wait for the answer, give everything back when the run ends.
import { ApplicationFailure, CancellationScope, condition, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { admissionSignal } from './definitions';
import type { ProvisionActivities } from './activity-options';
import type { AdmissionRequest, CapacityDecision, ProvisionInput } from './types';

export class AdmissionTicket {
  private readonly request: AdmissionRequest;
  private decided: CapacityDecision | null = null;
  private queuedAt: number | null = null;
  private asked = false;
  private released: Promise<void> | null = null;

  constructor(
    input: ProvisionInput,
    private readonly activities: Pick<ProvisionActivities, 'requestAdmission' | 'releaseAdmission'>,
  ) {
    const { workflowId, runId } = workflowInfo();
    this.request = {
      requestId: workflowId,
      workflowId,
      runId,
      environment: input.environment,
      userPrincipalName: input.userPrincipalName,
    };
    // The entity's answers: `queued` behind another request for the account, then `decided`. A
    // retried request may be answered twice; the first decision counts.
    setHandler(admissionSignal, (message) => {
      if (message.outcome === 'queued') this.queuedAt ??= message.position;
      else if (message.outcome === 'decided') this.decided ??= message.decision;
    });
  }

  /**
   * Asks, then waits: for the entity's first answer at most `answerWithinMs` (it answers at once,
   * unless something is wrong), then for the account's lock as long as it takes (`onQueued` is
   * told the place in the queue), the run being cancellable meanwhile.
   */
  async admit(answerWithinMs: number, onQueued: (position: number) => void): Promise<CapacityDecision> {
    this.asked = true;
    await this.activities.requestAdmission(this.request);
    if (!(await condition(() => this.decided !== null || this.queuedAt !== null, answerWithinMs))) {
      throw ApplicationFailure.create({
        type: 'internal',
        message: `no admission decision for ${this.request.environment} within ${Math.round(answerWithinMs / 1000)} s`,
        nonRetryable: true,
      });
    }
    if (this.decided === null) {
      onQueued(this.queuedAt!);
      await condition(() => this.decided !== null);
    }
    return this.decided!;
  }

  /**
   * Gives back the lock and whatever slot the run still holds, once per run (every caller gets
   * the same promise, so the run never closes before the message is out: the server drops a
   * signal whose sender has closed). Not asked for: nothing to give back.
   */
  release(): Promise<void> {
    if (!this.asked) return Promise.resolve();
    this.released ??= CancellationScope.nonCancellable(async () => {
      try {
        await this.activities.releaseAdmission({
          requestId: this.request.requestId,
          runId: this.request.runId,
          lock: true,
        });
      } catch (err) {
        // The entity also takes back what a closed run holds, when someone waits for it.
        log.warn('admission release not delivered', { error: String(err) });
      }
    });
    return this.released;
  }

  /** What set-access-mode needs to give back the slot itself once the mode is 4. */
  get slot(): { requestId: string; runId: string } {
    return { requestId: this.request.requestId, runId: this.request.runId };
  }
}
