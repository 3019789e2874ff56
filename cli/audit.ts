// The inventory and drift audit commands of the command-line client (cli/main.ts):
//   inventory --environment E [--json]
//   audit --environment E [--run] [--json]
// `audit --run` asks for an audit now, then follows it (what it is doing, as the workflow's
// progress query says) until a new one has completed, and prints its findings. Exit codes as the
// other commands: 0 done, 3 API or network error.
import type { AuditView } from '../api/audit';
import type { Inventory } from '../workflows/audit-types';
import { api, CliError, problemError, type Context } from './http';

/** How long `audit --run` waits for the audit it asked for to start, or to have completed. */
const START_WITHIN_MS = 120_000;
const time = () => new Date().toISOString().slice(11, 19);
const envPath = (environment: string) => `/v1/environments/${encodeURIComponent(environment)}`;

export async function inventoryCommand(ctx: Context, environment: string, json: boolean): Promise<number> {
  const res = await api(ctx, 'GET', `${envPath(environment)}/non-interactive-users`);
  if (res.status !== 200) throw problemError(res, 'inventory');
  const inv = res.body as Inventory;
  if (json) {
    ctx.out(JSON.stringify(inv, null, 2));
    return 0;
  }
  ctx.out(`${inv.environment}: ${inv.items.length} non-interactive users (limit ${inv.limit}, in use ${inv.used})`);
  for (const f of inv.findings) ctx.out(`  environment: ${f}`);
  for (const i of inv.items) {
    const who = i.managed ? `managed (${i.requestId})` : 'unmanaged';
    const flags = [i.isDisabled ? 'disabled' : null, i.licenses.length ? `licenses ${i.licenses.join(',')}` : null]
      .filter(Boolean)
      .join(', ');
    ctx.out(`  ${i.userPrincipalName.padEnd(40)} ${who}${flags ? ` - ${flags}` : ''}`);
    if (i.findings.length) ctx.out(`    findings: ${i.findings.join(', ')}`);
  }
  return 0;
}

function printAudit(ctx: Context, view: AuditView): void {
  const s = view.schedule;
  ctx.out(
    `schedule ${s.id}: every ${s.intervalSeconds ?? '?'} s, ${s.paused ? 'paused' : 'active'}` +
      `${s.nextRunAt ? `, next run ${s.nextRunAt}` : ''}`,
  );
  if (view.completedAt === null) {
    ctx.out('no audit has completed yet');
    return;
  }
  ctx.out(
    `latest audit ${view.startedAt} - ${view.completedAt} (repair ${view.repair ? 'on' : 'off'}): ${view.findings.length} findings`,
  );
  for (const f of view.findings) {
    const who = f.userPrincipalName ?? '(environment)';
    ctx.out(`  ${f.kind.padEnd(22)} ${who}${f.repaired ? ' - repaired' : ''} - ${f.detail}`);
  }
}

export async function auditCommand(
  ctx: Context,
  environment: string,
  options: { run: boolean; json: boolean },
): Promise<number> {
  const path = `${envPath(environment)}/audit`;
  const read = async (): Promise<AuditView> => {
    const res = await api(ctx, 'GET', path);
    if (res.status !== 200) throw problemError(res, 'audit');
    return res.body as AuditView;
  };
  if (!options.run) {
    const view = await read();
    if (options.json) ctx.out(JSON.stringify(view, null, 2));
    else printAudit(ctx, view);
    return 0;
  }
  const res = await api(ctx, 'POST', path);
  if (res.status !== 202) throw problemError(res, 'audit');
  const { requestedAt } = res.body as { requestedAt: string };
  ctx.out(`[${time()}] audit of ${environment} requested`);
  let last = '';
  const giveUpAt = Date.now() + START_WITHIN_MS;
  for (;;) {
    const view = await read();
    if (view.startedAt !== null && view.startedAt >= requestedAt) {
      ctx.out(
        `[${time()}] completed: ${view.findings.length} findings, ${view.findings.filter((f) => f.repaired).length} repaired`,
      );
      if (options.json) ctx.out(JSON.stringify(view, null, 2));
      else printAudit(ctx, view);
      return 0;
    }
    if (!view.running && Date.now() > giveUpAt) {
      throw new CliError(
        `no audit of ${environment} started within ${START_WITHIN_MS / 1000} s: is a worker running?`,
        3,
      );
    }
    const p = view.running?.progress;
    const line = view.running
      ? `running ${view.running.workflowId}${p ? ` - ${p.phase}: ${p.detail}` : ''}`
      : 'waiting';
    if (line !== last) ctx.out(`[${time()}] ${line}`);
    last = line;
    await new Promise((r) => setTimeout(r, ctx.pollMs));
  }
}
