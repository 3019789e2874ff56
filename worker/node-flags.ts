// How the worker process starts, given by every launcher: `npm run worker` (package.json, checked
// equal by test/unit/runtime.test.ts), `npm start` (scripts/dev.ts) and the tests and benchmarks
// (test/helpers/processes.ts). V8 sizes a heap when it creates it, and the allocator is chosen
// when the process is loaded, so neither can be set from inside the process.
//
// Why, measured with 1,000 requests parked (`BENCH_ONLY=3 npm run bench`, /proc/<pid>/smaps):
// - The flags. Both V8 heaps (the main thread's, and the workflow thread's that holds the cached
//   runs) had grown a 128 MB young generation each, and the old generations kept garbage far
//   beyond what was live (the workflow thread: 102 MB used of 225 MB for 600 cached runs): 1,362
//   MB in all. With the semi-space and old-space limits, 460 MB, of which 172 MB V8 pages;
//   `--optimize-for-size` (V8 grows its heaps more slowly) took those to 102 MB.
// - The allocator. glibc's malloc then held 150 to 160 MB in its per-thread arenas (the SDK's
//   core and Node's native side), fragmented by the burst and never given back. jemalloc returns
//   what it no longer uses: 255 MB in all, against 403 MB with glibc (and 345 MB with glibc
//   limited to two arenas).
import { existsSync, readFileSync } from 'node:fs';

export const WORKER_NODE_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=256', '--optimize-for-size'];

/** Where Debian's `libjemalloc2` puts the library (amd64, arm64); the Dockerfile installs it. */
const JEMALLOC = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2'];

/**
 * What a launcher adds to the worker's environment: jemalloc preloaded when it is installed.
 * Without it the worker runs on glibc's malloc (and says so when it starts).
 */
export function workerAllocatorEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const lib = JEMALLOC.find((p) => existsSync(p));
  if (!lib || env.LD_PRELOAD?.includes('jemalloc')) return {};
  return { LD_PRELOAD: env.LD_PRELOAD ? `${lib}:${env.LD_PRELOAD}` : lib };
}

/** The allocator a worker started by a launcher here runs on (what it logs when it starts). */
export function launchedWorkerAllocator(env: NodeJS.ProcessEnv = process.env): 'jemalloc' | 'glibc' {
  const preload = workerAllocatorEnv(env).LD_PRELOAD ?? env.LD_PRELOAD ?? '';
  return preload.includes('jemalloc') ? 'jemalloc' : 'glibc';
}

/** The allocator this process runs on, as its memory map shows ('unknown' off Linux). */
export function activeAllocator(): 'jemalloc' | 'glibc' | 'unknown' {
  try {
    return readFileSync('/proc/self/maps', 'utf8').includes('libjemalloc') ? 'jemalloc' : 'glibc';
  } catch {
    return 'unknown';
  }
}
