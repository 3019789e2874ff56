// The Node.js flags the worker process starts with, given by every launcher: `npm run worker`
// (package.json, checked equal by test/unit/runtime.test.ts), `npm start` (scripts/dev.ts) and the
// tests and benchmarks (test/helpers/processes.ts). V8 sizes a heap when it creates it, so they
// cannot be set from inside the process.
//
// Why: measured with 600 requests parked (bench, `process.report` of the worker), both heaps (the
// main thread's, and the workflow thread's that holds the cached runs) had grown their young
// generation to 128 MB each, and the old generation kept garbage far beyond what was live (the
// workflow thread: 102 MB used of 225 MB for 600 cached runs). With these flags and the cache at
// 100, 1,000 parked requests took 382 MB instead of 1,362 MB.
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=256'];
