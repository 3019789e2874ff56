// Starts an in-process worker for a test file: the dev server of the jest run
// (TEMPORAL_ADDRESS), the workflow bundle built once in global setup, a configuration pointing
// at the given sandbox, and a task queue of its own so parallel test files never take each
// other's tasks (entity workflows are per queue too, see workflows/types.ts).
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../../worker/config';
import { createWorker } from '../../worker/worker';

export interface TestWorker {
  config: Config;
  client: Client;
  worker: Worker;
  taskQueue: string;
  /** Stops the worker (waits for it) and closes its connection. */
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** Quiet SDK logs in tests (warnings and errors only), unless NIU_TEST_LOG_LEVEL says otherwise. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.NIU_TEST_LOG_LEVEL as 'WARN') ?? 'WARN') });
  } catch {
    // Already installed by another helper in this jest worker.
  }
}

export async function startTestWorker(options: {
  sandboxUrl: string;
  taskQueue: string;
  env?: Record<string, string>;
}): Promise<TestWorker> {
  const address = process.env.TEMPORAL_ADDRESS;
  const bundle = process.env.NIU_TEST_WORKFLOW_BUNDLE;
  if (!address || !bundle)
    throw new Error('TEMPORAL_ADDRESS / NIU_TEST_WORKFLOW_BUNDLE not set: run through scripts/test.sh');
  installRuntime();
  const config = loadConfig({
    ...process.env,
    SANDBOX_URL: options.sandboxUrl,
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    WORKER_SHUTDOWN_GRACE_MS: '2000',
    ...options.env,
  });
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker(config, { connection, workflowBundle: { codePath: bundle } });
  const running = worker.run();
  const client = new Client({ connection, namespace: config.temporal.namespace });
  let stopped = false;
  return {
    config,
    client,
    worker,
    taskQueue: options.taskQueue,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

/** A task queue name unique to the calling test file and process. */
export function testTaskQueue(name: string): string {
  return `niu-test-${name}-${process.pid}-${Date.now().toString(36)}`;
}
