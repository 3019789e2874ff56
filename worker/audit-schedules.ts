// One Temporal Schedule per configured environment runs its drift audit (workflows/audit.ts).
// The worker keeps them in step with its configuration when it starts: it creates the missing
// ones, updates the others (interval, action; an operator's pause is kept), and deletes the
// schedules of environments no longer configured, only those with this service's id prefix for
// its task queue. The ids are fixed per environment, so a restart, or two workers starting at
// once, never makes a second one.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { AUDIT_WORKFLOW_TYPE, auditSchedulePrefix, auditScheduleId } from '../workflows/audit-types';
import { NiuEnvironment } from '../workflows/definitions';

/** What an environment's schedule should be, from the configuration. */
function wanted(config: Config, environment: string) {
  const id = auditScheduleId(environment, config.temporal.taskQueue);
  return {
    spec: { intervals: [{ every: config.audit.intervalSeconds * 1000 }] },
    action: {
      type: 'startWorkflow' as const,
      workflowType: AUDIT_WORKFLOW_TYPE,
      // Temporal appends each run's scheduled time to this id.
      workflowId: id,
      taskQueue: config.temporal.taskQueue,
      args: [{ environment }],
      workflowExecutionTimeout: 30 * 60_000,
      typedSearchAttributes: [{ key: NiuEnvironment, value: environment }],
      staticSummary: `Drift audit of ${environment}`,
    },
    policies: {
      // An audit still running when the next is due: the next is skipped, never queued up.
      overlap: ScheduleOverlapPolicy.SKIP,
      catchupWindow: 60_000,
    },
  };
}

export interface ScheduleSync {
  created: string[];
  updated: string[];
  deleted: string[];
}

export async function syncAuditSchedules(config: Config, client: Client): Promise<ScheduleSync> {
  const done: ScheduleSync = { created: [], updated: [], deleted: [] };
  const configured = new Set(config.environments.map((e) => e.name));
  for (const environment of configured) {
    const id = auditScheduleId(environment, config.temporal.taskQueue);
    const options = wanted(config, environment);
    try {
      await client.schedule.create({
        scheduleId: id,
        ...options,
        state: { note: 'created by the noninteractive-users worker from its configuration' },
      });
      done.created.push(id);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(id).update((previous) => ({ ...previous, ...options }));
      done.updated.push(id);
    }
  }
  const prefix = auditSchedulePrefix(config.temporal.taskQueue);
  for await (const schedule of client.schedule.list()) {
    const id = schedule.scheduleId;
    if (!id.startsWith(prefix) || configured.has(id.slice(prefix.length))) continue;
    await client.schedule.getHandle(id).delete();
    done.deleted.push(id);
  }
  return done;
}
