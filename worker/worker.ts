// The Worker factory shared by the process entry (main.ts) and the tests: one task queue, the
// workflows (from source or a prebuilt bundle) and the activities built from the configuration.
import { Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createDataConverter } from './codec';
import type { Config } from '../config';
import { ActivityLogInterceptor } from './interceptors';
import { syncAuditSchedules, type ScheduleSync } from './audit-schedules';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  /** Prebuilt workflow bundle (tests bundle once per run); default: bundle workflows/ at start. */
  workflowBundle?: { codePath: string } | { code: string };
  /** Extra Worker options (identity, tuning in tests). */
  overrides?: Partial<WorkerOptions>;
}

/** The worker and the one way to stop it. */
export interface ServiceWorker {
  worker: Worker;
  /**
   * Stops taking tasks and lets running activities finish for WORKER_SHUTDOWN_GRACE_MS; then
   * the worker cancels them, and what still runs is abandoned as failed (worker/interceptors.ts).
   * Calls that ignore the cancellation, and local activities, which the SDK does not cancel,
   * would otherwise hold the shutdown as long as they run (or forever: an update to an entity
   * workflow on this very worker is never answered once it stops polling).
   */
  shutdown(): void;
  /** What the start did to the audit schedules (worker/audit-schedules.ts). */
  schedules: ScheduleSync;
}

export async function createWorker(config: Config, options: CreateWorkerOptions): Promise<ServiceWorker> {
  // The entity activities talk to Temporal through the worker's own native connection.
  // One data converter (payload encryption, encoded failure messages) for the worker and its client.
  const dataConverter = createDataConverter(config);
  const client = new Client({ connection: options.connection, namespace: config.temporal.namespace, dataConverter });
  const abandon = new AbortController();
  const worker = await Worker.create({
    dataConverter,
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(config, { client }),
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    shutdownGraceTime: config.worker.shutdownGraceMs,
    interceptors: { activity: [(ctx) => ({ inbound: new ActivityLogInterceptor(ctx, abandon.signal) })] },
    ...options.overrides,
  });
  // After the worker exists (its options are valid), before it polls: the schedules' first runs
  // are an interval away.
  const schedules = await syncAuditSchedules(config, client);
  let stopping = false;
  return {
    worker,
    schedules,
    shutdown() {
      if (stopping) return;
      stopping = true;
      worker.shutdown();
      // A little after the SDK's own cancellation, so activities that heed it end as it says.
      setTimeout(() => abandon.abort(new Error('worker shut down')), config.worker.shutdownGraceMs + 1_000).unref();
    },
  };
}
