// Per-process CPU accounting of a benchmark phase, from /proc: which process the CPU goes to
// (Temporal server, worker, API, sandbox, the bench itself) and whether the machine was
// saturated. Throughput ratios alone cannot tell a slower service from a busier server.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { round } from './stats';

/** Processes measured, by role. The bench process counts itself only (its children are the other roles). */
export const CPU_ROLES = ['server', 'worker', 'api', 'sandbox', 'bench'] as const;
export type CpuRole = (typeof CPU_ROLES)[number];

/** Root pid of each role; a role's CPU is its process tree's, so a wrapper's children count too. */
export type CpuPids = Record<CpuRole, number>;

export interface CpuSnapshot {
  at: number;
  /** Clock ticks per role. */
  ticks: Record<CpuRole, number>;
  /** Whole machine, from /proc/stat (all jobs on it, not only ours). */
  machine: { busy: number; iowait: number; steal: number };
}

export interface PhaseCpu {
  wallSeconds: number;
  /** CPU seconds of the phase per role, and their total. */
  seconds: Record<CpuRole | 'total', number>;
  /** The same per request or run of the phase. */
  perRun: Record<CpuRole | 'total', number>;
  /**
   * Cores in use on average: by the processes measured, by the whole machine (user, system, irq;
   * other jobs on a shared machine too), idle waiting for the disk, and stolen by the hypervisor.
   */
  machine: { cores: number; measuredCores: number; busyCores: number; iowaitCores: number; stealCores: number };
}

/** Ticks per second of /proc times (`getconf CLK_TCK`: 100 on Linux, asked once all the same). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  ppid: number;
  /** utime + stime: the process itself, all its threads (the worker's workflow threads included). */
  own: number;
  /** cutime + cstime: children that exited and were waited for during its life. */
  reaped: number;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid is field 4, utime..cstime fields 14..17.
  return { ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

function allStats(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.set(Number(name), stat);
  }
  return stats;
}

/** Ticks of a process and every live descendant, each with its reaped children (so none is lost between snapshots). */
function treeTicks(root: number, stats: Map<number, ProcStat>, children: Map<number, number[]>): number {
  let ticks = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const s = stats.get(pid);
    if (!s) continue;
    ticks += s.own + s.reaped;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

function machineTicks(): CpuSnapshot['machine'] {
  const [user, nice, system, , iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busy: user! + nice! + system! + irq! + softirq!, iowait: iowait!, steal: steal ?? 0 };
}

export function cpuSnapshot(pids: CpuPids): CpuSnapshot {
  const stats = allStats();
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const ticks = {} as Record<CpuRole, number>;
  for (const role of CPU_ROLES) {
    ticks[role] = role === 'bench' ? (stats.get(pids.bench)?.own ?? 0) : treeTicks(pids[role], stats, children);
  }
  return { at: performance.now(), ticks, machine: machineTicks() };
}

/** CPU of the phase between two snapshots; `runs` requests or workflow runs were done in it. */
export function phaseCpu(before: CpuSnapshot, after: CpuSnapshot, runs: number): PhaseCpu {
  const wallSeconds = (after.at - before.at) / 1000;
  const seconds = { total: 0 } as Record<CpuRole | 'total', number>;
  const perRun = { total: 0 } as Record<CpuRole | 'total', number>;
  for (const role of CPU_ROLES) {
    const s = (after.ticks[role] - before.ticks[role]) / CLK_TCK;
    seconds[role] = round(s);
    perRun[role] = round(s / runs, 3);
    seconds.total += s;
  }
  perRun.total = round(seconds.total / runs, 3);
  const cores = (ticks: number) => round(ticks / CLK_TCK / wallSeconds);
  const machine = (key: keyof CpuSnapshot['machine']) => cores(after.machine[key] - before.machine[key]);
  return {
    wallSeconds: round(wallSeconds),
    seconds: { ...seconds, total: round(seconds.total) },
    perRun,
    machine: {
      cores: os.cpus().length,
      measuredCores: round(seconds.total / wallSeconds),
      busyCores: machine('busy'),
      iowaitCores: machine('iowait'),
      stealCores: machine('steal'),
    },
  };
}

/**
 * One line: CPU-s per run by role, the total, and how busy the machine was; the measured
 * processes' share of it tells whether other jobs on a shared machine took CPU from the phase.
 */
export function formatPhaseCpu(cpu: PhaseCpu): string {
  const roles = CPU_ROLES.map((role) => `${role} ${cpu.perRun[role].toFixed(3)}`).join(', ');
  const m = cpu.machine;
  return (
    `${roles}; total ${cpu.perRun.total.toFixed(3)} (${cpu.seconds.total} CPU-s in ${cpu.wallSeconds} s); ` +
    `machine busy ${m.busyCores} of ${m.cores} cores, ${m.measuredCores} of them these processes` +
    (m.iowaitCores >= 0.05 ? `, ${m.iowaitCores} in iowait` : '') +
    (m.stealCores >= 0.05 ? `, ${m.stealCores} stolen` : '')
  );
}
