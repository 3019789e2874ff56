// The Worker factory shared by the process entry (main.ts) and the tests: one task queue, the
// workflows (from source or a prebuilt bundle) and the activities built from the configuration.
import { Client } from '@temporalio/client';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createDataConverter } from './codec';
import type { Config } from './config';
import { ActivityLogInterceptor } from './interceptors';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  /** Prebuilt workflow bundle (tests bundle once per run); default: bundle workflows/ at start. */
  workflowBundle?: { codePath: string } | { code: string };
  /** Extra Worker options (identity, tuning in tests). */
  overrides?: Partial<WorkerOptions>;
}

export async function createWorker(config: Config, options: CreateWorkerOptions): Promise<Worker> {
  // The entity activities talk to Temporal through the worker's own native connection.
  // One data converter (payload encryption, encoded failure messages) for the worker and its client.
  const dataConverter = createDataConverter(config);
  const client = new Client({ connection: options.connection, namespace: config.temporal.namespace, dataConverter });
  return Worker.create({
    dataConverter,
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('../workflows') }),
    activities: createActivities(config, { client }),
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    shutdownGraceTime: config.worker.shutdownGraceMs,
    interceptors: { activity: [(ctx) => ({ inbound: new ActivityLogInterceptor(ctx) })] },
    ...options.overrides,
  });
}
