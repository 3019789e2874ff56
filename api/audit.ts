// What the inventory and audit routes ask of Temporal. The inventory is read live on a worker (a
// short `readInventory` workflow, like capacity and readiness: the API holds no credential). The
// latest audit comes from the environment's schedule: its description (interval, paused, next
// run, the running audit) and its recent actions, newest first, until one that completed, whose
// result is the report. Recent actions include manual triggers, and they are the schedule's own
// record, so an audit that just ended is seen at once (a visibility query may lag behind).
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
} from '@temporalio/client';
import type { Config } from '../config';
import {
  AUDIT_PROGRESS_QUERY,
  INVENTORY_WORKFLOW_TYPE,
  auditScheduleId,
  type AuditProgress,
  type AuditReport,
  type Finding,
  type Inventory,
} from '../workflows/audit-types';
import { runOnWorker } from './on-worker';
import { HttpProblem } from './problem';
import type { TemporalGateway } from './temporal';

export interface AuditView {
  environment: string;
  /** Null until the first audit has completed. */
  startedAt: string | null;
  completedAt: string | null;
  workflowId: string | null;
  repair: boolean | null;
  findings: Pick<Finding, 'kind' | 'userPrincipalName' | 'systemUserId' | 'repaired' | 'detail'>[];
  /** The password rotations that audit started (the environment's `rotatePasswordAfterDays`). */
  rotations: AuditReport['rotations'];
  /** The audit running now, if any, with what it is doing. */
  running: { workflowId: string; progress: AuditProgress | null } | null;
  schedule: {
    id: string;
    /** ISO 8601 duration, e.g. `PT3600S`. */
    interval: string | null;
    intervalSeconds: number | null;
    paused: boolean;
    note: string | null;
    nextRunAt: string | null;
  };
}

const READ_TIMEOUT_MS = 15_000;

export interface AuditServiceOptions {
  /** Bound on reading the inventory live through the worker (default 60 s). */
  inventoryTimeoutMs?: number;
}

export class AuditService {
  constructor(
    private readonly config: Config,
    private readonly temporal: TemporalGateway,
    private readonly options: AuditServiceOptions = {},
  ) {}

  private known(environment: string): void {
    if (!this.config.environments.some((e) => e.name === environment)) {
      throw new HttpProblem(404, 'not-found', `Unknown environment "${environment}".`);
    }
  }

  private scheduleId(environment: string): string {
    return auditScheduleId(environment, this.config.temporal.taskQueue);
  }

  async inventory(environment: string): Promise<Inventory> {
    this.known(environment);
    return runOnWorker<Inventory>(this.temporal, this.config.temporal.taskQueue, INVENTORY_WORKFLOW_TYPE, environment, {
      idPrefix: 'niu-inventory',
      timeoutMs: this.options.inventoryTimeoutMs ?? 60_000,
      slug: 'inventory-unavailable',
      failed: 'The inventory could not be read',
      summary: `Read the non-interactive users of ${environment}`,
    });
  }

  private async describe(client: Client, environment: string): Promise<ScheduleDescription> {
    try {
      return await client.schedule.getHandle(this.scheduleId(environment)).describe();
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) {
        throw new HttpProblem(
          404,
          'audit-not-scheduled',
          `Environment "${environment}" has no audit schedule yet: a worker creates it when it starts.`,
        );
      }
      throw err;
    }
  }

  async latest(environment: string): Promise<AuditView> {
    this.known(environment);
    // Longer than a single call's bound: a schedule's description is a query of its scheduler
    // workflow, slower while the server is busy, and the recent runs are read after it.
    const { d, report } = await this.temporal.run(async (client) => {
      const described = await this.describe(client, environment);
      return { d: described, report: await this.latestReport(client, described) };
    }, READ_TIMEOUT_MS);
    const every = d.spec.intervals?.[0]?.every ?? null;
    const seconds = every === null ? null : Math.round(Number(every) / 1000);
    const runningId = d.info.runningActions[0]?.workflow.workflowId ?? null;
    // Apart, and briefly bounded: a running audit whose worker is gone never answers, and the
    // rest of the answer does not need it.
    const progress = runningId
      ? await this.temporal
          .run((client) => client.workflow.getHandle(runningId).query<AuditProgress>(AUDIT_PROGRESS_QUERY), 2_000)
          .catch(() => null)
      : null;
    return {
      environment,
      startedAt: report?.report.startedAt ?? null,
      completedAt: report?.report.completedAt ?? null,
      workflowId: report?.workflowId ?? null,
      repair: report?.report.repair ?? null,
      findings: (report?.report.findings ?? []).map(({ kind, userPrincipalName, systemUserId, repaired, detail }) => ({
        kind,
        userPrincipalName,
        systemUserId,
        repaired,
        detail,
      })),
      rotations: report?.report.rotations ?? [],
      running: runningId ? { workflowId: runningId, progress } : null,
      schedule: {
        id: this.scheduleId(environment),
        interval: seconds === null ? null : `PT${seconds}S`,
        intervalSeconds: seconds,
        paused: d.state.paused,
        note: d.state.note ?? null,
        nextRunAt: d.info.nextActionTimes[0]?.toISOString() ?? null,
      },
    };
  }

  /** The newest of the schedule's recent audits that completed, with its report. */
  private async latestReport(
    client: Client,
    d: ScheduleDescription,
  ): Promise<{ workflowId: string; report: AuditReport } | null> {
    const newestFirst = [...d.info.recentActions].sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
    // Described side by side: one round trip's time however many recent runs are still running.
    const statuses = await Promise.all(
      newestFirst.map(async ({ action: { workflow } }) => {
        const handle = client.workflow.getHandle(workflow.workflowId, workflow.firstExecutionRunId);
        const status = await handle.describe().then(
          (w) => w.status.name,
          () => null,
        );
        return { workflowId: workflow.workflowId, handle, completed: status === 'COMPLETED' };
      }),
    );
    const latest = statuses.find((s) => s.completed);
    return latest ? { workflowId: latest.workflowId, report: (await latest.handle.result()) as AuditReport } : null;
  }

  /** Runs the audit now; one already running finishes first (the trigger is buffered behind it). */
  async trigger(environment: string): Promise<{ requestedAt: string }> {
    this.known(environment);
    return this.temporal.run(async (client) => {
      const d = await this.describe(client, environment);
      // A run's id is the schedule's id and the second it starts at: a second trigger within the
      // same second as the last action would get the same id, and the schedule drops it.
      const last = Math.max(0, ...d.info.recentActions.map((a) => a.takenAt.getTime()));
      const wait = last + 1_100 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const requestedAt = new Date().toISOString();
      await client.schedule.getHandle(this.scheduleId(environment)).trigger(ScheduleOverlapPolicy.BUFFER_ONE);
      return { requestedAt };
    }, READ_TIMEOUT_MS);
  }

  /** The latest audit of every configured environment that has one (for the metrics). */
  async latestOfAll(): Promise<AuditView[]> {
    const views: AuditView[] = [];
    for (const env of this.config.environments) {
      try {
        views.push(await this.latest(env.name));
      } catch (err) {
        if (!(err instanceof HttpProblem)) throw err;
      }
    }
    return views;
  }
}
