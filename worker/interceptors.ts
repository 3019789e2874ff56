// One INFO line per activity attempt (completed, or failed with its failure type), through the
// activity context logger, which adds workflowId, runId, activityType and attempt to every line:
// operators can follow a request in the worker's logs by its workflow id. Arguments and results
// are never logged (they hold names, and the create step generates a password). A benign
// failure (a sync look that did not find the user yet: an expected outcome, one per look) is
// logged at DEBUG, as the SDK's own activity log does: at one look a second per waiting request
// these lines were most of the worker's output, and writing them a share of its CPU.
//
// It also ends an attempt when the worker abandons it at shutdown (the `abandoned` signal, after
// the grace time) and turns any attempt the worker interrupted into a failure rather than a
// cancellation (activities/cancellation.ts).
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, ActivityExecuteInput, Next } from '@temporalio/worker';
import { interruption, untilAborted } from '../activities/cancellation';

export class ActivityLogInterceptor implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly abandoned: AbortSignal,
  ) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const started = Date.now();
    try {
      const result = await untilAborted(this.abandoned, next(input));
      this.ctx.log.info('activity completed', { durationMs: Date.now() - started });
      return result;
    } catch (caught) {
      const err = interruption(this.ctx, caught, this.abandoned) ?? caught;
      const failure = err instanceof ApplicationFailure ? err : undefined;
      const benign = failure?.category === ApplicationFailureCategory.BENIGN;
      this.ctx.log[benign ? 'debug' : 'warn']('activity failed', {
        durationMs: Date.now() - started,
        failureType: failure?.type ?? (err as Error)?.name ?? 'Error',
        nonRetryable: failure?.nonRetryable ?? false,
      });
      throw err;
    }
  }
}
