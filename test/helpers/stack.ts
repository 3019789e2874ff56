// Brings up the whole stack for an e2e test file: the sandbox (HTTPS, in this process), a worker
// on a task queue of its own (test/helpers/worker.ts), and the API listening on a real port,
// all against the jest run's Temporal dev server. Tokens come from the sandbox's real token
// endpoint, so authentication runs exactly as in production.
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app';
import { loadConfig, type Config } from '../../config';
import { freePort } from '../../scripts/ports';
import { startTestSandbox, sandboxControl, type Sandbox, type SandboxControl } from './sandbox';
import { FAST_SYNC, FAST_TIMING, startTestWorker, testTaskQueue, type TestWorker } from './worker';
import { clientCredentialsToken } from './api';
import type { ProvisionTiming } from '../../workflows/types';

export interface Stack {
  sandbox: Sandbox;
  control: SandboxControl;
  worker: TestWorker;
  app: FastifyInstance;
  config: Config;
  /** http://127.0.0.1:<port> of the API. */
  apiUrl: string;
  /** Environment variables that point a child process (CLI, API) at this stack. */
  env: Record<string, string>;
  operatorToken(): Promise<string>;
  readerToken(): Promise<string>;
  stop(): Promise<void>;
}

export interface StackOptions {
  name: string;
  /** Workflow timings the API passes on (default: the worker helper's FAST_TIMING). */
  workflowTiming?: Partial<ProvisionTiming>;
  /** Temporal namespace of the worker and the API (default: `default`; test/helpers/namespaces.ts). */
  namespace?: string;
  /** Extra environment for the API's configuration. */
  apiEnv?: Record<string, string>;
  /** Extra environment for the worker's and the API's configuration, made once the sandbox runs. */
  env?: (sandbox: Sandbox) => Record<string, string>;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const sandbox = await startTestSandbox();
  const control = sandboxControl(sandbox.url);
  await control.config(FAST_SYNC);
  const taskQueue = testTaskQueue(options.name);
  const sharedEnv: Record<string, string> = {
    ...(options.namespace ? { TEMPORAL_NAMESPACE: options.namespace } : {}),
    ...options.env?.(sandbox),
  };
  let worker: TestWorker | undefined;
  let app: FastifyInstance | undefined;
  try {
    worker = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue, env: sharedEnv });
    const port = await freePort();
    const env = {
      NIU_SANDBOX: 'true',
      SANDBOX_URL: sandbox.url,
      TEMPORAL_TASK_QUEUE: taskQueue,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS ?? '',
      ...sharedEnv,
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      LOG_LEVEL: process.env.NIU_TEST_LOG_LEVEL?.toLowerCase() === 'debug' ? 'info' : 'error',
      ...options.apiEnv,
    };
    const config = loadConfig({ ...process.env, ...env });
    app = await buildApp({
      config,
      service: { workflowTiming: options.workflowTiming ?? FAST_TIMING },
      // A small clock tolerance lets the expired-token test wait seconds, not half a minute.
      auth: { clockToleranceSec: 1 },
    });
    await app.listen({ host: config.api.host, port: config.api.port });
    const apiUrl = config.api.publicUrl;
    const tokens = new Map<string, Promise<string>>();
    const token = (id: string, secret: string) => {
      if (!tokens.has(id)) tokens.set(id, clientCredentialsToken(sandbox.url, id, secret));
      return tokens.get(id)!;
    };
    const started = app;
    const startedWorker = worker;
    return {
      sandbox,
      control,
      worker,
      app,
      config,
      apiUrl,
      env: { ...env, NIU_API_URL: apiUrl, NIU_TOKEN_URL: `${sandbox.url}/contoso.onmicrosoft.com/oauth2/v2.0/token` },
      operatorToken: () => token('operator-client', 'operator-secret'),
      readerToken: () => token('reader-client', 'reader-secret'),
      async stop() {
        // Tests are done: end every connection, including a request a hostile-input case left
        // half-sent, which would otherwise hold close() until Node's 300 s request timeout.
        const closing = started.close();
        started.server.closeAllConnections();
        await closing;
        await startedWorker.stop();
        await sandbox.close();
      },
    };
  } catch (err) {
    await app?.close();
    await worker?.stop();
    await sandbox.close();
    throw err;
  }
}
