// Step bookkeeping of a provisioning run, in one place: the status document (the `status` query
// and the run's final steps; its plain, testable part is workflows/status.ts), the `NiuStep`
// search attribute operators filter on, and the current details the Temporal UI shows. The
// workflow says what happens; this keeps the three in step.
import {
  ActivityFailure,
  ApplicationFailure,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { NiuStep, statusQuery } from './definitions';
import { StatusBuilder, type StatusSubject } from './status';
import { withAccountLock, type LockedAccount } from './account-lock';
import type { Compensations } from './compensation';
import type { FinalSteps, ProvisionResult, StatusDocument, StepName, StepState } from './types';

export type RunError = { type: string; message: string };

/** Provisioning's steps by default; the other workflows name their own (workflows/lifecycle-types.ts). */
export class StepTracker<S extends string = StepName, R = ProvisionResult> extends StatusBuilder<S, R> {
  /** The step that runs now, or last ran: a failure is put down to it. */
  current: S;

  constructor(input: StatusSubject, names?: readonly S[], id?: string) {
    super(input, new Date(), names, id);
    this.current = this.snapshot().steps[0]!.name;
    // The status query is typed for provisioning's document; the others share its name and shape.
    setHandler(statusQuery, () => this.snapshot() as unknown as StatusDocument);
  }

  begin(step: S, detail: string | null = null): void {
    this.current = step;
    this.start(step, detail);
    upsertSearchAttributes([{ key: NiuStep, value: step }]);
    this.details(step, detail);
  }

  override waiting(step: S, detail: string): void {
    super.waiting(step, detail);
    this.details(step, detail);
  }

  /** An undo ran: the step is `compensated`, unless it is the one that failed (it keeps its failure, with a note). */
  undone(step: S, detail: string): void {
    if (this.step(step).status === 'failed') this.note(step, detail);
    else this.compensated(step, detail);
  }

  /** Compensation could not undo the step: the document says so (the step keeps its status). */
  notUndone(step: S, error: unknown): void {
    this.note(step, `could not be undone, undo it by hand: ${describeFailure(error).message}`);
  }

  /** The run succeeded: its result carries the final steps, so a closed run is read without a replay. */
  succeeded(result: R): R & { steps: StepState<S>[] } {
    this.finish('succeeded', result, null);
    setCurrentDetails('**succeeded**');
    return { ...result, steps: this.snapshot().steps };
  }

  /** The current step failed; compensation follows. */
  failed(error: RunError, cancelled: boolean): void {
    this.fail(this.current, error);
    setCurrentDetails(`**${cancelled ? 'cancelled' : 'failed'}** at ${this.current}: compensating`);
  }

  /** Compensation is done: the failure the run ends with carries the final steps in its details. */
  ended(error: RunError, cancelled: boolean, cause: unknown): ApplicationFailure {
    this.finish(cancelled ? 'cancelled' : 'failed', null, error);
    setCurrentDetails(`**${cancelled ? 'cancelled' : 'failed'}**: ${error.type}`);
    const { steps, currentStep } = this.snapshot();
    return ApplicationFailure.create({
      type: error.type,
      message: error.message,
      nonRetryable: true,
      cause: cause as Error,
      details: [{ steps, currentStep } satisfies FinalSteps<S>],
    });
  }

  /**
   * The run failed or was cancelled: the document says so, the undos run (last added first), and
   * this throws what the run ends with (a cancellation as it came, so the run ends cancelled).
   */
  async endWith(err: unknown, undo?: Compensations<S>): Promise<never> {
    const cancelled = isCancellation(err);
    const error = cancelled ? { type: 'cancelled', message: 'the request was cancelled' } : describeFailure(err);
    this.failed(error, cancelled);
    await undo?.run((step, e) => this.notUndone(step, e));
    const failure = this.ended(error, cancelled, err);
    throw cancelled ? err : failure;
  }

  /** A step waits for the account's lock: says so, with the place in the queue. */
  queued(step: S, position: number): void {
    this.waiting(step, `another request for this account runs first (queue position ${position})`);
  }

  /** Runs `body` under the account's lock (workflows/account-lock.ts), `step` showing the wait. */
  underLock<T>(step: S, who: LockedAccount, body: () => Promise<T>): Promise<T> {
    this.begin(step, 'taking the account lock');
    return withAccountLock(who, (position) => this.queued(step, position), body);
  }

  private details(step: S, detail: string | null): void {
    setCurrentDetails(`**${step}**${detail ? `: ${detail}` : ''}`);
  }
}

/** The `{type, message}` of whatever ended the request. */
export function describeFailure(err: unknown): RunError {
  const e = err instanceof ActivityFailure && err.cause ? err.cause : err;
  if (e instanceof ApplicationFailure) return { type: e.type ?? 'internal', message: e.message };
  return { type: 'internal', message: e instanceof Error ? e.message : String(e) };
}
