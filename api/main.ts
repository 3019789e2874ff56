// Process entry of the API: configuration, app, listen; on SIGTERM/SIGINT stop accepting,
// let in-flight requests finish (Fastify's close waits for them), then exit. A second signal,
// or a stuck close past the grace period, exits at once.
import { loadConfigOrExit } from '../config';
import { buildApp } from './app';

const GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit('api');
  const app = await buildApp({
    config,
    warmUp: true,
    ...(config.workflowTiming ? { service: { workflowTiming: config.workflowTiming } } : {}),
  });
  let closing = false;
  // Answers given while shutting down close their keep-alive connection, so the server's close
  // is not held up by idle clients once the in-flight requests are done.
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  const shutdown = (signal: NodeJS.Signals) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      app.log.error('graceful shutdown timed out');
      process.exit(1);
    }, GRACE_MS);
    timer.unref();
    app.close().then(
      () => {
        clearTimeout(timer);
        process.exit(0);
      },
      (err: unknown) => {
        app.log.error({ error: String(err) }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await app.listen({ host: config.api.host, port: config.api.port });
  app.log.info(
    {
      url: config.api.publicUrl,
      docs: `${config.api.publicUrl}/docs`,
      temporal: config.temporal.address,
      codec: config.codec ? `${config.api.publicUrl}/codec` : 'off',
    },
    'API listening',
  );
  if (!config.codec) app.log.warn('CODEC_KEYS is not set: requests are stored in clear in Temporal');
}

main().catch((err: unknown) => {
  process.stderr.write(`API failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
