// The short workflows that read Microsoft live on a worker for the API (capacity, readiness,
// inventory): the API holds no credential, so it starts one and waits for its result, bounded.
import { randomUUID } from 'node:crypto';
import { HttpProblem } from './problem';
import { NIU_ENVIRONMENT } from './search-attributes';
import { failureInfo } from './status';
import type { TemporalGateway } from './temporal';

export interface OnWorkerOptions {
  idPrefix: string;
  timeoutMs: number;
  /** The 503 problem's type, e.g. `capacity-unavailable`. */
  slug: string;
  /** The 503's detail, before the failure type. */
  failed: string;
  summary: string;
}

/**
 * Runs `workflowType` for `environment` on a worker of `taskQueue`, bounded by `timeoutMs`: a
 * worker that does not answer in time, or a run that fails, is a 503 `slug` naming what failed.
 */
export async function runOnWorker<T>(
  temporal: TemporalGateway,
  taskQueue: string,
  workflowType: string,
  environment: string,
  options: OnWorkerOptions,
): Promise<T> {
  const { idPrefix, timeoutMs, slug, failed, summary } = options;
  return (await temporal.run(async (client) => {
    try {
      return await client.workflow.execute(workflowType, {
        taskQueue,
        workflowId: `${idPrefix}:${environment}:${randomUUID()}`,
        args: [environment],
        workflowExecutionTimeout: timeoutMs,
        typedSearchAttributes: [{ key: NIU_ENVIRONMENT, value: environment }],
        staticSummary: summary,
      });
    } catch (err) {
      const info = failureInfo(err);
      throw new HttpProblem(503, slug, `${failed} (${info.type}).`, {
        headers: { 'retry-after': '5' },
      });
    }
  }, timeoutMs + 1000)) as T;
}
