// config/ must not load TypeBox at runtime: the worker, the sandbox and the scripts load config/,
// and TypeBox 1.x (about 700 ES modules) cost a fresh process +40 to +55 MB RSS, which raised the
// worker's RSS at 1,000 parked requests by some 15 MB. The API loads TypeBox for its routes anyway.
//
// A fresh process of the project's Node, with tsx as the worker runs, loads config and reads it.
// A module.registerHooks resolve hook records every module resolved after it, by require() and by
// import alike (TypeBox is ES modules importing one another), and require.cache is checked too.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

const probe = `
const { registerHooks } = require('node:module');
const resolved = [];
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    resolved.push(result.url);
    return result;
  },
});
globalThis.gc();
const before = process.memoryUsage();
require('./config').loadConfig({ NIU_SANDBOX: 'true' });
globalThis.gc();
const after = process.memoryUsage();
process.stdout.write(JSON.stringify({
  resolved,
  cached: Object.keys(require.cache),
  rss: after.rss - before.rss,
  heapUsed: after.heapUsed - before.heapUsed,
}));
`;

interface Probe {
  resolved: string[];
  cached: string[];
  rss: number;
  heapUsed: number;
}

test('loading config and reading it loads no module of TypeBox', () => {
  const out = execFileSync(path.join(root, 'node_modules/.bin/node'), ['--expose-gc', '--import', 'tsx', '-e', probe], {
    cwd: root,
    encoding: 'utf8',
  });
  const { resolved, cached, rss, heapUsed } = JSON.parse(out) as Probe;
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  // Printed, not asserted (RSS varies from run to run): the figure to quote when this changes.
  console.log(`loading config in a fresh process: RSS +${mb(rss)} MB, heap +${mb(heapUsed)} MB`);
  // The hook saw config's own modules, so it would have seen TypeBox's.
  expect(resolved.some((url) => url.endsWith('/config/declare.ts'))).toBe(true);
  const typebox = [...new Set([...resolved, ...cached].filter((file) => file.includes('/node_modules/typebox/')))];
  expect({ count: typebox.length, first: typebox.slice(0, 3) }).toEqual({ count: 0, first: [] });
});
