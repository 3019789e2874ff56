// `npm run bench:profile`: where a burst of requests spends its time. Starts the bench stack,
// posts PROFILE_USERS requests at once (20) with a PROFILE_SYNC_MS sync delay (20 s), and reads
// every finished history: for each activity, when it was scheduled, when a worker started it and
// when it completed, as seconds since the burst began (median and max over the requests).
// Signals a run received (the admission entity's answer) are rows too, at their arrival.
// With PROFILE_ENTITY=1 it also prints the admission entity's history per 2 s: requests in,
// releases, workflow tasks, local activities (reads and deliveries).
// Not a benchmark (no baseline): the tool to find what a benchmark's miss is made of.
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { postRequest } from './orchestration';
import { PROVISION_TIMING } from './provision-time';
import { runTrustingSandboxCa, startBenchStack } from './stack';
import { DOMAIN, envNumber, percentile, round, SKU } from './stats';
import { admissionWorkflowId } from '../workflows/types';

const EventType = temporal.api.enums.v1.EventType;
const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

interface Mark {
  scheduled: number;
  started: number;
  completed: number;
  attempt: number;
}

async function timeline(client: Client, id: string, t0: number): Promise<Map<string, Mark>> {
  const history = await client.workflow.getHandle(id).fetchHistory();
  const byEvent = new Map<number, string>();
  const marks = new Map<string, Mark>();
  for (const e of history.events ?? []) {
    const at = ms(e.eventTime) - t0;
    const a = e.activityTaskScheduledEventAttributes;
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && a) {
      let name = a.activityType?.name ?? '?';
      while (marks.has(name)) name += "'";
      byEvent.set(Number(e.eventId), name);
      marks.set(name, { scheduled: at, started: NaN, completed: NaN, attempt: 0 });
    }
    const s = e.activityTaskStartedEventAttributes;
    if (s) {
      const m = marks.get(byEvent.get(Number(s.scheduledEventId))!)!;
      m.started = at;
      m.attempt = s.attempt ?? 1;
    }
    const c = e.activityTaskCompletedEventAttributes;
    if (c) marks.get(byEvent.get(Number(c.scheduledEventId))!)!.completed = at;
    const signal = e.workflowExecutionSignaledEventAttributes?.signalName;
    if (signal) marks.set(`(signal ${signal})`, { scheduled: at, started: at, completed: at, attempt: 0 });
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
      marks.set('(workflow completed)', { scheduled: at, started: at, completed: at, attempt: 0 });
  }
  return marks;
}

async function main(): Promise<void> {
  const users = envNumber('PROFILE_USERS', 20);
  const syncMs = envNumber('PROFILE_SYNC_MS', 20_000, { zero: true });
  const log = (line: string): void => void process.stderr.write(`[profile] ${line}\n`);
  const stack = await startBenchStack(log);
  try {
    const sandbox = await stack.sandbox();
    await sandbox.control.config({
      syncDelayMs: syncMs,
      licensePropagationMs: syncMs,
      revertWindowMs: 0,
      environments: { 'contoso-prod': { nonInteractiveLimit: 5000 } },
      skus: { [SKU]: { seats: 5000 } },
    });
    const taskQueue = 'profile';
    const worker = await stack.worker({ sandbox, taskQueue });
    const api = await stack.api({
      sandbox,
      taskQueue,
      workflowTiming: { ...PROVISION_TIMING, syncTimeoutMs: 600_000 },
    });
    const token = await sandbox.operatorToken();
    // Warm-up: code loaded, connections open, the admission entity started.
    const warm = await postRequest(api, token, `profile-warm-${Date.now()}@${DOMAIN}`);
    await sandbox.control.config({ syncDelayMs: 0, licensePropagationMs: 0 });
    await stack.client.workflow.getHandle(warm).result();
    await sandbox.control.config({ syncDelayMs: syncMs, licensePropagationMs: syncMs });

    const stamp = Date.now().toString(36);
    const t0 = Date.now();
    const ids = await Promise.all(
      Array.from({ length: users }, (_, i) => postRequest(api, token, `profile-${stamp}-${i}@${DOMAIN}`)),
    );
    const posted = (Date.now() - t0) / 1000;
    await Promise.all(ids.map((id) => stack.client.workflow.getHandle(id).result()));
    const total = (Date.now() - t0) / 1000;

    const rows = new Map<string, Mark[]>();
    for (const id of ids) {
      for (const [name, m] of await timeline(stack.client, id, t0)) rows.set(name, [...(rows.get(name) ?? []), m]);
    }
    const s = (xs: number[]): string =>
      `${round(percentile(xs, 50) / 1000, 1)}/${round(percentile(xs, 100) / 1000, 1)}`.padStart(11);
    const out = [
      `${users} requests, sync delay ${syncMs / 1000} s: all POSTs answered after ${round(posted, 1)} s, all done after ${round(total, 1)} s`,
      'seconds since the burst, median/max over the requests',
      `${'activity'.padEnd(24)}${'scheduled'.padStart(11)}${'started'.padStart(11)}${'completed'.padStart(11)}${'queued'.padStart(11)}${'ran'.padStart(11)}  attempts`,
    ];
    for (const [name, ms_] of rows) {
      out.push(
        `${name.padEnd(24)}${s(ms_.map((m) => m.scheduled))}${s(ms_.map((m) => m.started))}${s(ms_.map((m) => m.completed))}` +
          `${s(ms_.map((m) => m.started - m.scheduled))}${s(ms_.map((m) => m.completed - m.started))}  ${percentile(
            ms_.map((m) => m.attempt),
            100,
          )}`,
      );
    }
    // The admission entity's side: per 2 s since the burst, requests in, releases, workflow tasks.
    if (process.env.PROFILE_ENTITY) {
      const h = await stack.client.workflow.getHandle(admissionWorkflowId(taskQueue)).fetchHistory();
      const buckets = new Map<number, Record<string, number>>();
      for (const e of h.events ?? []) {
        const b = Math.floor((ms(e.eventTime) - t0) / 2000) * 2;
        const kind =
          e.workflowExecutionSignaledEventAttributes?.signalName ??
          (e.workflowTaskCompletedEventAttributes ? 'wft' : null) ??
          (e.markerRecordedEventAttributes ? 'local-activity' : null) ??
          (e.workflowTaskFailedEventAttributes ? 'wft-FAILED' : null);
        if (!kind) continue;
        const row = buckets.get(b) ?? {};
        row[kind] = (row[kind] ?? 0) + 1;
        buckets.set(b, row);
      }
      out.push(`admission entity (${h.events?.length} events):`);
      for (const [b, row] of buckets) out.push(`  ${String(b).padStart(4)} s ${JSON.stringify(row)}`);
    }
    // The worker's own view: how long workflow tasks waited for it and took in it (sums / counts).
    const metrics = await worker.metrics();
    for (const name of [
      'temporal_workflow_task_schedule_to_start_latency',
      'temporal_workflow_task_execution_latency',
      'temporal_workflow_task_replay_latency',
      'temporal_workflow_endtoend_latency',
      'temporal_activity_schedule_to_start_latency',
      'temporal_activity_execution_latency',
    ]) {
      const sum = [...metrics.matchAll(new RegExp(`^${name}_sum\\{[^}]*\\} (\\S+)`, 'gm'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
      const count = [...metrics.matchAll(new RegExp(`^${name}_count\\{[^}]*\\} (\\S+)`, 'gm'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
      if (count > 0) out.push(`${name}: ${count} observed, mean ${round(sum / count, 1)} ms`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await stack.stop();
  }
}

runTrustingSandboxCa(main);
