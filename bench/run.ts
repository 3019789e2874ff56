// `npm run bench`: the four benchmarks in one run, each figure a ratio against a
// baseline measured in the same run on the same machine. Prints a table and writes
// bench/results/<time>.json (and latest.json). Takes about 8 minutes; not part of `npm test`.
//
//   1. orchestration overhead   (bench/orchestration.ts)
//   2. API overhead             (bench/api-overhead.ts)
//   3. waiting at scale         (bench/waiting.ts)
//   4. time to provision 20     (bench/provision-time.ts, bench/script.ts)
//
// Options (environment): BENCH_REQUESTS (200), BENCH_PARKED (1000), BENCH_USERS (20),
// BENCH_API_SECONDS (8, per side), BENCH_API_ROUNDS (4), BENCH_CONNECTIONS (10), BENCH_ONLY
// (which to run, e.g. `3` or `1,4`; 1 and 2 run together: 2 reads the requests 1 provisioned),
// BENCH_TEMPORAL (`cluster`: on the self-hosted cluster instead of the dev server).
import { mkdirSync, writeFileSync } from 'node:fs';
import { launchedWorkerAllocator } from '../worker/node-flags';
import os from 'node:os';
import path from 'node:path';
import { startLatency, statusLatency, type ApiOverheadResult } from './api-overhead';
import { formatPhaseCpu } from './cpu';
import { orchestration, ZERO_DELAY_TIMING, type OrchestrationResult } from './orchestration';
import {
  prepareSyncDelay,
  PROVISION_TIMING,
  provisionThroughService,
  SYNC_DELAY_MS,
  type ServiceProvisionResult,
} from './provision-time';
import { provisionAsScript, type ScriptResult } from './script';
import { runTrustingSandboxCa, startBenchStack, type BenchStack } from './stack';
import { envNumber, round } from './stats';
import { waiting, type WaitingResult } from './waiting';

const started = Date.now();
const log = (line: string): void => {
  process.stderr.write(`[bench +${Math.round((Date.now() - started) / 1000)}s] ${line}\n`);
};

interface Results {
  date: string;
  command: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string; loadAverage: number[] };
  orchestration?: Omit<OrchestrationResult, 'ids'>;
  api?: ApiOverheadResult;
  waiting?: WaitingResult;
  provision?: { service: ServiceProvisionResult; script: ScriptResult; syncDelaySeconds: number };
  targets: { name: string; figure: string; target: string; met: boolean }[];
  /** Figures without a target, printed under the targets to explain them (e.g. where the CPU went). */
  notes: { name: string; figure: string }[];
  /** Benchmarks that failed (the others still report). */
  errors: { benchmark: string; error: string }[];
  durationSeconds?: number;
}

async function main(): Promise<void> {
  const requests = envNumber('BENCH_REQUESTS', 200);
  const parked = envNumber('BENCH_PARKED', 1000);
  const users = envNumber('BENCH_USERS', 20);
  const apiMs = envNumber('BENCH_API_SECONDS', 8) * 1000;
  const connections = envNumber('BENCH_CONNECTIONS', 10);
  const apiRounds = envNumber('BENCH_API_ROUNDS', 4);
  const only = new Set((process.env.BENCH_ONLY || '1,2,3,4').split(',').map((n) => n.trim()));
  if (only.has('2')) only.add('1');
  const results: Results = {
    date: new Date().toISOString(),
    command:
      ['BENCH_ONLY', 'BENCH_TEMPORAL']
        .filter((k) => process.env[k])
        .map((k) => `${k}=${process.env[k]} `)
        .join('') + 'npm run bench',
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGb: round(os.totalmem() / 2 ** 30, 1),
      node: process.version,
      loadAverage: os.loadavg().map((l) => round(l, 2)),
    },
    targets: [],
    notes: [],
    errors: [],
  };
  // A failing benchmark is reported and the others still run.
  const guard = async (benchmark: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      log(`${benchmark} failed: ${String(err)}`);
      results.errors.push({ benchmark, error: String(err) });
    }
  };
  let stack: BenchStack | undefined;
  try {
    stack = await startBenchStack(log);
    const { client } = stack;
    const sandboxA = await stack.sandbox();
    const sandboxB = await stack.sandbox();

    // 4 (baseline) runs in the background from the start: the script is mostly waiting, and
    // 20 users one after another take 20 x 20 s at least.
    let script: Promise<ScriptResult> | undefined;
    if (only.has('4')) {
      await prepareSyncDelay(sandboxB);
      log(`4. script baseline: ${users} users one after another (in the background)`);
      script = provisionAsScript(sandboxB, users);
      script.catch(() => undefined);
    }

    // 4 (service) first, on a server that holds nothing else: after 2 and 3 it also held
    // thousands of runs those left behind (starts on a queue no worker polls, 1,000 parked runs
    // whose worker is gone, their attempts timing out), which are not a deployment's load.
    let service: ServiceProvisionResult | undefined;
    if (script) {
      log(`4. service: ${users} users at once with a ${SYNC_DELAY_MS / 1000} s sync delay`);
      const provQueue = 'bench-provision';
      const provWorker = await stack.worker({ sandbox: sandboxB, taskQueue: provQueue });
      const provApi = await stack.api({
        sandbox: sandboxB,
        taskQueue: provQueue,
        workflowTiming: { ...PROVISION_TIMING, syncTimeoutMs: 600_000 },
      });
      await guard('4. time to provision', async () => {
        service = await provisionThroughService({ client, api: provApi, sandbox: sandboxB, users });
      });
      await provApi.kill('SIGTERM');
      await provWorker.kill('SIGTERM');
    }

    if (only.has('1')) {
      // 1. orchestration
      log('1. orchestration overhead');
      const mainQueue = 'bench-main';
      const benchWorker = await stack.worker({ sandbox: sandboxA, taskQueue: mainQueue, bench: true });
      const api = await stack.api({ sandbox: sandboxA, taskQueue: mainQueue, workflowTiming: ZERO_DELAY_TIMING });
      const orch = await orchestration({
        client,
        api,
        sandbox: sandboxA,
        worker: benchWorker,
        serverPid: stack.server.process.pid!,
        taskQueue: mainQueue,
        requests,
        concurrency: 50,
        log,
      });
      const { ids, ...orchFigures } = orch;
      results.orchestration = orchFigures;

      // 2. API overhead: status of the requests just provisioned; then starts on a queue no worker
      // polls, so the workflows they create do not load the machine while latency is measured.
      log('2. API overhead');
      const token = await sandboxA.operatorToken();
      const status = await statusLatency({
        client,
        api,
        token,
        ids,
        connections,
        durationMs: apiMs,
        rounds: apiRounds,
      });
      await benchWorker.kill('SIGTERM');
      const idleApi = await stack.api({
        sandbox: sandboxA,
        taskQueue: 'bench-idle',
        workflowTiming: ZERO_DELAY_TIMING,
      });
      const start = await startLatency({
        client,
        api: idleApi,
        token,
        taskQueue: 'bench-idle',
        connections,
        durationMs: apiMs,
        rounds: apiRounds,
      });
      await api.kill('SIGTERM');
      await idleApi.kill('SIGTERM');
      results.api = { connections, durationSeconds: apiMs / 1000, rounds: apiRounds, start, status };
    }

    if (only.has('3')) {
      // 3. waiting at scale, on the service's own worker process.
      log(`3. waiting at scale: ${parked} parked requests`);
      const parkQueue = 'bench-park';
      const parkWorker = await stack.worker({ sandbox: sandboxA, taskQueue: parkQueue });
      await guard('3. waiting at scale', async () => {
        results.waiting = await waiting({
          client,
          sandbox: sandboxA,
          worker: parkWorker,
          taskQueue: parkQueue,
          requests: parked,
          log,
        });
      });
      await parkWorker.kill('SIGKILL'); // its parked requests stay parked; nothing else to do for them
    }

    if (script && service) {
      await guard('4. time to provision', async () => {
        log('4. waiting for the script baseline to finish');
        results.provision = { service: service!, script: await script!, syncDelaySeconds: SYNC_DELAY_MS / 1000 };
      });
    }
  } finally {
    await stack?.stop();
  }
  results.durationSeconds = Math.round((Date.now() - started) / 1000);
  results.targets = targets(results);
  results.notes = notes(results);
  const dir = path.resolve(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(results, null, 2);
  const file = path.join(dir, `${results.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, json);
  writeFileSync(path.join(dir, 'latest.json'), json);
  process.stdout.write(`${table(results)}\nresults: ${path.relative(process.cwd(), file)}\n`);
}

function targets(r: Results): Results['targets'] {
  const t: Results['targets'] = [];
  if (r.orchestration) {
    t.push({
      name: 'orchestration throughput vs no-op workflow',
      figure:
        `${r.orchestration.ratio}x (${r.orchestration.servicePerSecond}/s vs ${r.orchestration.baselinePerSecond}/s; ` +
        `history events ${r.orchestration.eventsPerRequest.workflow} vs ${r.orchestration.eventsPerRequest.baseline})`,
      target: '>= 0.8x',
      met: r.orchestration.ratio >= 0.8,
    });
  }
  if (r.api) {
    for (const kind of ['start', 'status'] as const) {
      const p = r.api[kind];
      t.push({
        name: `API ${kind} p50 vs direct client`,
        figure: `${p.p50Ratio}x (${p.apiP50} ms vs ${p.directP50} ms)`,
        target: '<= 1.15x',
        met: p.p50Ratio <= 1.15,
      });
      t.push({
        name: `API ${kind} p99 vs direct client`,
        figure: `${p.p99Ratio}x (${p.apiP99} ms vs ${p.directP99} ms)`,
        target: '<= 1.3x',
        met: p.p99Ratio <= 1.3,
      });
    }
  }
  if (r.waiting) {
    const w = r.waiting;
    t.push({
      name: `worker RSS, ${w.requests} parked`,
      figure: `${w.rssMb.parkedMax} MB max (idle ${w.rssMb.idle} MB)`,
      target: '<= 300 MB',
      met: w.rssMb.parkedMax <= 300,
    });
    t.push({
      name: 'activity slots in use while parked',
      figure: `mean ${w.activitySlots.usedMean}, max ${w.activitySlots.usedMax} (looks in flight)`,
      target: '0 held',
      met: w.activitySlots.usedMean < 1,
    });
    const h = w.historyEventsPerHour;
    t.push({
      name: 'history events / request / hour of waiting',
      figure:
        `${h.modelFirstHour} in the first hour, ${h.model24hAverage}/h over 24 h; real history: ` +
        `${h.observed.eventsSinceWaitBegan} events for ${h.observed.looksMade} looks in ${h.observed.waitedSeconds} s ` +
        `(timer loop: ${h.timerLoopFirstHour} first hour, ${h.timerLoopSteadyPerHour}/h after)`,
      target: '<= 20',
      met: h.modelFirstHour <= 20 && h.observed.eventsSinceWaitBegan <= 20,
    });
  }
  if (r.provision) {
    const p = r.provision;
    t.push({
      name: `${p.service.users} users, ${p.syncDelaySeconds} s sync delay`,
      figure:
        `service ${p.service.seconds} s (${round(p.service.seconds / p.syncDelaySeconds, 2)}x the delay; ` +
        `the warm-up request before, alone: ${p.service.firstRequestSeconds} s); ` +
        `script ${p.script.seconds} s (${round(p.script.seconds / p.service.seconds, 1)}x slower)`,
      target: `<= ${1.2 * p.syncDelaySeconds} s`,
      met: p.service.seconds <= 1.2 * p.syncDelaySeconds,
    });
  }
  return t;
}

function notes(r: Results): Results['notes'] {
  const n: Results['notes'] = [];
  // The memory figures depend on it (worker/node-flags.ts): jemalloc when libjemalloc2 is installed.
  n.push({ name: 'worker allocator', figure: launchedWorkerAllocator() });
  if (r.orchestration) {
    const o = r.orchestration;
    n.push({
      name: 'orchestration vs no-op + NiuStep upserts (info)',
      figure:
        `${o.upsertRatio}x (${o.servicePerSecond}/s vs ${o.upsertBaselinePerSecond}/s; ` +
        `history events ${o.eventsPerRequest.upsertBaseline}; no-op alone ${o.baselinePerSecond}/s)`,
    });
    n.push({ name: 'CPU-s per run, no-op baseline', figure: formatPhaseCpu(o.cpu.baseline) });
    n.push({ name: 'CPU-s per run, no-op + upserts', figure: formatPhaseCpu(o.cpu.upsertBaseline) });
    n.push({ name: 'CPU-s per request, service', figure: formatPhaseCpu(o.cpu.service) });
  }
  return n;
}

function table(r: Results): string {
  const rows = [
    ...r.targets.map((t) => [t.name, t.figure, t.target, t.met ? 'met' : 'MISSED']),
    ...r.notes.map((n) => [n.name, n.figure, '-', 'info']),
  ];
  const head = ['measure', 'figure (this run)', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    ...r.errors.map((e) => `FAILED ${e.benchmark}: ${e.error}`),
    `noninteractive-users benchmark, ${r.date}, ${r.machine.cpus} x ${r.machine.cpuModel}, Node ${r.machine.node}, ${r.durationSeconds} s`,
    line(head),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

runTrustingSandboxCa(main);
