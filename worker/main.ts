// Worker process: Runtime (JSON logs, Prometheus metrics), connection, Worker; SIGINT/SIGTERM
// stop polling, let running activities finish within WORKER_SHUTDOWN_GRACE_MS, then exit.
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { loadConfigOrExit } from '../config';
import { createWorker } from './worker';
import { activeAllocator } from './node-flags';

const LEVELS: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

async function main(): Promise<void> {
  const config = loadConfigOrExit('worker');
  const level = (config.logLevel.toUpperCase() as LogLevel) ?? 'INFO';
  Runtime.install({
    // One JSON object per line on stdout, workflow and activity logs included (the SDK routes
    // `log` from workflows and activities here, with their ids as metadata).
    logger: new DefaultLogger(LEVELS.includes(level) ? level : 'INFO', (entry) => {
      process.stdout.write(
        `${JSON.stringify({
          time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
          level: entry.level.toLowerCase(),
          msg: entry.message,
          ...entry.meta,
        })}\n`,
      );
    }),
    telemetryOptions: {
      metrics: { prometheus: { bindAddress: `0.0.0.0:${config.worker.metricsPort}` } },
    },
    shutdownSignals: [], // handled below, so the grace period is ours
  });

  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const { worker, shutdown, schedules } = await createWorker(config, {
    connection,
    ...(config.worker.workflowBundlePath ? { workflowBundle: { codePath: config.worker.workflowBundlePath } } : {}),
  });
  const logger = Runtime.instance().logger;
  const allocator = activeAllocator();

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal, graceMs: config.worker.shutdownGraceMs });
    shutdown();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  logger.info('worker started', {
    taskQueue: config.temporal.taskQueue,
    namespace: config.temporal.namespace,
    temporal: config.temporal.address,
    metrics: `:${config.worker.metricsPort}/metrics`,
    environments: config.environments.map((e) => e.name),
    payloadEncryption: config.codec ? `on (key ${config.codec.currentKeyId})` : 'off',
    allocator,
    auditSchedules: schedules,
  });
  if (allocator === 'glibc') {
    // worker/node-flags.ts: glibc's arenas kept 150 MB more under load than jemalloc did.
    logger.warn('running on glibc malloc: install libjemalloc2 and preload it (LD_PRELOAD) to keep memory down');
  }
  if (!config.codec) logger.warn('CODEC_KEYS is not set: workflow data is stored in clear in Temporal');
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
  logger.info('worker stopped');
}

main().catch((err) => {
  process.stderr.write(
    `${JSON.stringify({ level: 'error', msg: 'worker failed', error: String(err?.stack ?? err) })}\n`,
  );
  process.exit(1);
});
