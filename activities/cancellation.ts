// Every outgoing call of an activity stops when the activity is cancelled, not only at its own
// timeout. The worker cancels running activities when it shuts down (after
// WORKER_SHUTDOWN_GRACE_MS) and waits for them to end: a call that ignored that would hold the
// shutdown until it answered, or for good if it waits on this very worker.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';

/** The running activity's context, or undefined outside one (tests and scripts call these functions directly). */
function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

/** How long one call to a Microsoft service may take unless its caller says otherwise. */
export const CALL_TIMEOUT_MS = 30_000;

/** A signal that aborts after `timeoutMs` or when the running activity is cancelled. */
export function callSignal(timeoutMs = CALL_TIMEOUT_MS): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  const ctx = currentContext();
  return ctx ? AbortSignal.any([timeout, ctx.cancellationSignal]) : timeout;
}

/**
 * Settles with `promise`, or rejects with the signal's reason as soon as it aborts, for calls
 * that do not stop on a signal of their own (the Temporal client may keep retrying an RPC
 * through a cancelled call). What is left of the call runs out in the background.
 */
export function untilAborted<T>(signal: AbortSignal, promise: Promise<T>): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/**
 * What an activity throws when the worker, not the workflow, stopped it: the worker's own
 * cancellation (after the shutdown grace time, or a local activity's timeout), or `abandoned`,
 * the worker's signal that it stops waiting for what still runs (worker/worker.ts). Left as a
 * cancellation it would reach the workflow as if the request had been cancelled. A retryable
 * failure lets another worker run the attempt again; a local activity abandoned at shutdown fails
 * for good instead, because its retries would run on this same stopping worker and hold its
 * shutdown (the workflow code handles the failure). Undefined when `err` is no such interruption.
 */
export function interruption(ctx: Context, err: unknown, abandoned: AbortSignal): ApplicationFailure | undefined {
  const byShutdown = abandoned.aborted;
  if (!byShutdown && (!ctx.cancellationSignal.aborted || ctx.cancellationDetails?.cancelRequested)) return undefined;
  const signal = byShutdown ? abandoned : ctx.cancellationSignal;
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  return ApplicationFailure.create({
    type: 'activity-interrupted',
    message: `the worker interrupted the activity (${reason}): ${err instanceof Error ? err.message : String(err)}`,
    nonRetryable: byShutdown && ctx.info.isLocal,
  });
}
