// The benchmark's worker process: worker/worker.ts's createWorker with the service's
// configuration and activities, plus the no-op baseline (bench/noop-workflow.ts) on the same
// task queue, so service and baseline share one server and one worker. WORKER_WORKFLOW_BUNDLE
// must be a bundle of bench/workflows.ts (bench/run.ts builds it).
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfigOrExit } from '../config';
import { createWorker } from '../worker/worker';
import { benchActivities } from './noop-activity';

async function main(): Promise<void> {
  const config = loadConfigOrExit('worker');
  if (!config.worker.workflowBundlePath)
    throw new Error('WORKER_WORKFLOW_BUNDLE (bundle of bench/workflows.ts) is required');
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${config.worker.metricsPort}` } } },
  });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const { worker, shutdown } = await createWorker(config, {
    connection,
    workflowBundle: { codePath: config.worker.workflowBundlePath },
    overrides: { activities: { ...createActivities(config, { client }), ...benchActivities } },
  });
  process.on('SIGTERM', shutdown);
  process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'worker started' })}\n`);
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench worker failed: ${String(err)}\n`);
  process.exit(1);
});
