// One INFO line per activity attempt (completed, or failed with its failure type), through the
// activity context logger, which adds workflowId, runId, activityType and attempt to every line:
// operators can follow a request in the worker's logs by its workflow id. Arguments and results
// are never logged (they hold names, and the create step generates a password).
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, ActivityExecuteInput, Next } from '@temporalio/worker';

export class ActivityLogInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const started = Date.now();
    try {
      const result = await next(input);
      this.ctx.log.info('activity completed', { durationMs: Date.now() - started });
      return result;
    } catch (err) {
      const failure = err instanceof ApplicationFailure ? err : undefined;
      this.ctx.log.warn('activity failed', {
        durationMs: Date.now() - started,
        failureType: failure?.type ?? (err as Error)?.name ?? 'Error',
        nonRetryable: failure?.nonRetryable ?? false,
      });
      throw err;
    }
  }
}
