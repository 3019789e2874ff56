// What a test file starts before its tests and stops after them, registered with jest in one
// call: a sandbox (with its control client and a Graph client), a worker on a task queue of the
// file's own, or the whole stack. Each `use…` call registers its beforeAll/afterAll (and, when
// asked, a beforeEach) where it is called, so at a file's top level or inside a describe.
//
// What they return stands for what the beforeAll makes: each is a stand-in that passes every
// property read on to the real object once it exists, so a file writes
//   const { sandbox, control } = useSandbox({ reset: true });
// and uses `sandbox.url`, `control.reset()` in its tests and hooks as plain values. Used before
// the beforeAll ran (at module load, in a describe body), a stand-in throws and names itself.
import { randomBytes } from 'node:crypto';
import type { Client } from '@microsoft/microsoft-graph-client';
import {
  graphClient,
  sandboxControl,
  startTestSandbox,
  type Sandbox,
  type SandboxConfigPatch,
  type SandboxControl,
} from './sandbox';
import { startTestWorker, testTaskQueue, type TestWorker } from './worker';
import { startStack, type Stack, type StackOptions } from './stack';

/** A value made later (in a beforeAll), and the stand-in that forwards to it. */
export function later<T extends object>(what: string): { proxy: T; set(value: T): void; get(): T | undefined } {
  let current: T | undefined;
  const target = (): T => {
    if (current === undefined) throw new Error(`${what} is used before the beforeAll that starts it ran`);
    return current;
  };
  const proxy = new Proxy({} as T, {
    get(_, key) {
      // `await stand-in` and jest's printing look for these before anything exists.
      if (current === undefined && (key === 'then' || typeof key === 'symbol')) return undefined;
      const real = target();
      const value: unknown = Reflect.get(real, key, real);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(real) : value;
    },
    set(_, key, value) {
      return Reflect.set(target(), key, value);
    },
    has: (_, key) => Reflect.has(target(), key),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor(_, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(target(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
  return {
    proxy,
    set: (value) => {
      current = value;
    },
    get: () => current,
  };
}

export interface SandboxOptions {
  /** Settings applied once, after the start (sandbox/README.md, PATCH /_sandbox/config). */
  config?: SandboxConfigPatch;
  /** Before each test: reset the sandbox (state, faults, settings), then apply the settings given here. */
  reset?: boolean | SandboxConfigPatch;
}

export interface SandboxFixture {
  sandbox: Sandbox;
  control: SandboxControl;
  /** The Graph SDK client as the provisioner (test/helpers/sandbox.ts graphClient). */
  graph: Client;
}

/** Starts a sandbox in this process before the tests (closed after them). */
export function useSandbox(options: SandboxOptions = {}): SandboxFixture {
  const fixture = sandboxHooks(options);
  afterAll(() => fixture.stop());
  return fixture.values;
}

/** A worker (in this process) on a task queue named after `name`, against the given sandbox. */
export function useWorker(
  sandbox: Pick<Sandbox, 'url'>,
  name: string,
  options: { env?: Record<string, string> } = {},
): TestWorker {
  const worker = later<TestWorker>(`the ${name} worker`);
  beforeAll(async () => {
    worker.set(await startTestWorker({ sandboxUrl: sandbox.url, taskQueue: testTaskQueue(name), env: options.env }));
  });
  afterAll(() => worker.get()?.stop());
  return worker.proxy;
}

/** A sandbox and a worker against it (useSandbox, useWorker); after the tests the worker stops first. */
export function useSandboxAndWorker(
  name: string,
  options: SandboxOptions & { workerEnv?: Record<string, string> } = {},
): SandboxFixture & { worker: TestWorker } {
  const fixture = sandboxHooks(options);
  const worker = later<TestWorker>(`the ${name} worker`);
  beforeAll(async () => {
    worker.set(
      await startTestWorker({
        sandboxUrl: fixture.values.sandbox.url,
        taskQueue: testTaskQueue(name),
        env: options.workerEnv,
      }),
    );
  });
  afterAll(async () => {
    await worker.get()?.stop();
    await fixture.stop();
  });
  return { ...fixture.values, worker: worker.proxy };
}

/**
 * The whole stack (test/helpers/stack.ts: sandbox, worker, API on a real port) for the file's
 * tests. `encrypt`: payload encryption on with a fresh key (CODEC_KEYS, read by the worker and
 * the API; jest gives each test file its own process.env).
 */
export function useStack(options: StackOptions & { encrypt?: boolean }): Stack {
  const stack = later<Stack>(`the ${options.name} stack`);
  beforeAll(async () => {
    if (options.encrypt) process.env.CODEC_KEYS = `k=${randomBytes(32).toString('base64')}`;
    stack.set(await startStack(options));
  });
  afterAll(() => stack.get()?.stop());
  return stack.proxy;
}

/** The sandbox's beforeAll and beforeEach; the caller registers the afterAll (so it can stop more first). */
function sandboxHooks(options: SandboxOptions): { values: SandboxFixture; stop(): Promise<void> } {
  const sandbox = later<Sandbox>('the sandbox');
  const control = later<SandboxControl>('the sandbox control client');
  const graph = later<Client>('the Graph client');
  beforeAll(async () => {
    const started = await startTestSandbox();
    sandbox.set(started);
    control.set(sandboxControl(started.url));
    graph.set(graphClient(started));
    if (options.config) await control.proxy.config(options.config);
  });
  const { reset } = options;
  if (reset) {
    beforeEach(async () => {
      await control.proxy.reset();
      if (typeof reset === 'object') await control.proxy.config(reset);
    });
  }
  return {
    values: { sandbox: sandbox.proxy, control: control.proxy, graph: graph.proxy },
    stop: async () => {
      await sandbox.get()?.close();
    },
  };
}
