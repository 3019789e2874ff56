// Set-up shared by the API's end-to-end files: a stack of the file's own (test/helpers/stack.ts:
// sandbox, worker, the API on a real port), an operator's and a reader's token from the
// sandbox's token endpoint, and calls to the API with them.
import type { StatusDocument } from '../../workflows/types';
import { call, eventually, type ApiResponse } from './api';
import { startStack, type Stack, type StackOptions } from './stack';
import { buildApp, type BuildAppOptions } from '../../api/app';
import { loadConfig } from '../../config';
import { freePort } from '../../scripts/ports';

export interface Accepted {
  id: string;
  status: string;
  links: { self: string; cancel: string };
}

export interface ApiStack {
  readonly stack: Stack;
  /** Token of the sandbox's operator client (ReadWrite). */
  readonly operator: string;
  /** Token of the sandbox's reader client (Read). */
  readonly reader: string;
  /** One call to the stack's API, with the operator's token unless `options.token` says otherwise. */
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    options?: Parameters<typeof call>[3],
  ): Promise<ApiResponse<T>>;
  /** POST /v1/non-interactive-users in contoso-prod (`extra` adds or overrides fields). */
  create(upn: string, extra?: Record<string, unknown>): Promise<ApiResponse<Accepted>>;
  /** Polls GET (through the URL the API handed out) until the request is no longer running. */
  untilClosed(url: string, timeoutMs?: number): Promise<StatusDocument>;
}

/** Starts the stack before the file's tests and stops it after them (jest's beforeAll/afterAll). */
export function useApiStack(options: StackOptions): ApiStack {
  let stack: Stack | undefined;
  let operator = '';
  let reader = '';
  beforeAll(async () => {
    stack = await startStack(options);
    operator = await stack.operatorToken();
    reader = await stack.readerToken();
  }, 120_000);
  afterAll(async () => {
    await stack?.stop();
  });

  const started = (): Stack => {
    if (!stack) throw new Error('the stack is not started (use it inside tests)');
    return stack;
  };
  const api: ApiStack['api'] = (method, path, callOptions = {}) =>
    call(started().apiUrl, method, path, { token: operator, ...callOptions });
  return {
    get stack() {
      return started();
    },
    get operator() {
      return operator;
    },
    get reader() {
      return reader;
    },
    api,
    create: (upn, extra = {}) =>
      api<Accepted>('POST', '/v1/non-interactive-users', {
        body: {
          environment: 'contoso-prod',
          userPrincipalName: upn,
          displayName: `E2E ${upn.split('@')[0]}`,
          ...extra,
        },
      }),
    untilClosed: (url, timeoutMs = 90_000) =>
      eventually(async () => {
        const res = await call<StatusDocument>(url, 'GET', '', { token: reader });
        expect(res.status).toBe(200);
        return res.body.status === 'running' ? undefined : res.body;
      }, timeoutMs),
  };
}

/**
 * Runs `fn` against a second API beside `stack`'s, on a task queue no worker polls (the short
 * workflows that read live through a worker then time out), built with `options`.
 */
export async function withApiWithoutWorker<T>(
  stack: Stack,
  options: Omit<BuildAppOptions, 'config'>,
  fn: (apiUrl: string) => Promise<T>,
): Promise<T> {
  const config = loadConfig({
    ...process.env,
    ...stack.env,
    TEMPORAL_TASK_QUEUE: `niu-test-nobody-${process.pid}`,
    API_PORT: String(await freePort()),
    LOG_LEVEL: 'silent',
  });
  const app = await buildApp({ config, ...options });
  await app.listen({ host: config.api.host, port: config.api.port });
  try {
    return await fn(config.api.publicUrl);
  } finally {
    await app.close();
  }
}
