// The inventory and the drift audit through the API over real HTTP, against a stack of its own
// (contoso-prod with auditRepair on): the routes and their errors, an audit run now through the
// schedule and followed to its end, its findings as metrics, and the command-line client's
// `inventory` and `audit --run`.
import { useApiStack, withApiWithoutWorker } from '../helpers/api-stack';
import { runCli } from '../helpers/cli';
import { call, eventually } from '../helpers/api';
import { graphClient } from '../helpers/sandbox';
import { sandboxView } from '../helpers/worker';
import { auditEnvironmentsFile, createUnmanagedUser, setAccessModeInDataverse } from '../helpers/drift';
import type { AuditView } from '../../api/audit';
import type { Inventory } from '../../workflows/audit-types';
import type { StatusDocument } from '../../workflows/types';

const e2e = useApiStack({
  name: 'audit',
  env: (sandbox) => ({ ENVIRONMENTS_FILE: auditEnvironmentsFile(sandbox.url, { 'contoso-prod': true }) }),
});
const MANAGED = 'svc-e2e-audit@contoso.onmicrosoft.com';
const BY_HAND = 'by-hand-e2e@contoso.onmicrosoft.com';

const cli = (args: string[]) => runCli(e2e.stack.env, args);

let managed: StatusDocument;
beforeAll(async () => {
  const created = await e2e.create(MANAGED);
  expect(created.status).toBe(202);
  managed = await e2e.untilClosed(created.body.links.self);
  expect(managed.status).toBe('succeeded');
  const { sandbox, control } = e2e.stack;
  await createUnmanagedUser({ sandbox, graph: graphClient(sandbox), control }, 'contoso-prod', BY_HAND, {
    keepLicense: false,
  });
}, 120_000);

test('before any audit: 200 with no findings, and the schedule', async () => {
  const res = await e2e.api<AuditView>('GET', '/v1/environments/contoso-prod/audit', { token: e2e.reader });
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ environment: 'contoso-prod', startedAt: null, completedAt: null, findings: [] });
  expect(res.body.schedule).toMatchObject({
    id: `niu-audit@${e2e.stack.worker.taskQueue}:contoso-prod`,
    interval: 'PT3600S',
    intervalSeconds: 3600,
    paused: false,
  });
  expect(Date.parse(res.body.schedule.nextRunAt!)).toBeGreaterThan(Date.now());
});

test('the environments list says where repair is on and links the inventory and the audit', async () => {
  const res = await e2e.api<{ items: { name: string; auditRepair: boolean; links: Record<string, string> }[] }>(
    'GET',
    '/v1/environments',
  );
  const byName = Object.fromEntries(res.body.items.map((e) => [e.name, e]));
  expect(byName['contoso-prod']).toMatchObject({ auditRepair: true });
  expect(byName['contoso-test']).toMatchObject({ auditRepair: false });
  expect(byName['contoso-prod']!.links).toMatchObject({
    inventory: `${e2e.stack.apiUrl}/v1/environments/contoso-prod/non-interactive-users`,
    audit: `${e2e.stack.apiUrl}/v1/environments/contoso-prod/audit`,
  });
});

test('errors: unknown environment 404, a reader may not run an audit, problem+json', async () => {
  for (const route of ['audit', 'non-interactive-users']) {
    const res = await e2e.api('GET', `/v1/environments/nowhere/${route}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
  }
  expect((await e2e.api('POST', '/v1/environments/nowhere/audit')).status).toBe(404);
  expect((await e2e.api('POST', '/v1/environments/contoso-prod/audit', { token: e2e.reader })).status).toBe(403);
  expect((await e2e.api('GET', '/v1/environments/contoso-prod/non-interactive-users', { token: '' })).status).toBe(401);
});

test('the inventory: managed and unmanaged users, live', async () => {
  const res = await e2e.api<Inventory>('GET', '/v1/environments/contoso-prod/non-interactive-users', {
    token: e2e.reader,
  });
  expect(res.status).toBe(200);
  const items = [...res.body.items].sort((a, b) => a.userPrincipalName.localeCompare(b.userPrincipalName));
  expect(items).toEqual([
    expect.objectContaining({
      userPrincipalName: BY_HAND,
      managed: false,
      requestId: null,
      findings: ['unmanaged'],
      accessMode: 4,
    }),
    expect.objectContaining({
      userPrincipalName: MANAGED,
      systemUserId: managed.result!.systemUserId,
      entraObjectId: managed.result!.entraObjectId,
      managed: true,
      requestId: managed.id,
      licenses: [],
      isDisabled: false,
      findings: [],
    }),
  ]);
});

test('POST runs the audit now; GET shows it once completed, with the repair; metrics count the findings', async () => {
  const { sandbox, control } = e2e.stack;
  await setAccessModeInDataverse(sandbox, 'contoso-prod', managed.result!.systemUserId, 0);
  const posted = await e2e.api<{ requestedAt: string; links: { audit: string } }>(
    'POST',
    '/v1/environments/contoso-prod/audit',
  );
  expect(posted.status).toBe(202);
  expect(posted.headers.get('location')).toBe(posted.body.links.audit);
  const view = await eventually(async () => {
    const res = await e2e.api<AuditView>('GET', '/v1/environments/contoso-prod/audit');
    return res.body.startedAt && res.body.startedAt >= posted.body.requestedAt ? res.body : undefined;
  }, 60_000);
  expect(view.repair).toBe(true);
  expect(view.findings).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ kind: 'access-mode-reverted', userPrincipalName: MANAGED, repaired: true }),
      expect.objectContaining({ kind: 'unmanaged', userPrincipalName: BY_HAND, repaired: false }),
    ]),
  );
  const state = sandboxView(await control.state());
  expect(state.systemUser('contoso-prod', managed.result!.entraObjectId)!.accessmode).toBe(4);

  // The gauges read the latest audit (cached for a few seconds between scrapes).
  const text = await eventually(async () => {
    const t = await (await fetch(`${e2e.stack.apiUrl}/metrics`)).text();
    return /niu_audit_findings\{environment="contoso-prod",kind="access-mode-reverted"\} 1/.test(t) ? t : undefined;
  }, 30_000);
  expect(text).toMatch(/niu_audit_findings\{environment="contoso-prod",kind="unmanaged"\} 1/);
  expect(text).toMatch(/niu_audit_findings\{environment="contoso-prod",kind="over-limit"\} 0/);
  expect(text).toMatch(/niu_audit_findings_unrepaired\{environment="contoso-prod"\} [1-9]/);
  expect(text).toMatch(/niu_audit_last_completed_timestamp_seconds\{environment="contoso-prod"\} \d/);
});

test('command-line client: inventory, and audit --run followed to its end', async () => {
  const inv = await cli(['inventory', '--environment', 'contoso-prod']);
  expect(inv.stderr).toBe('');
  expect(inv.code).toBe(0);
  expect(inv.stdout).toMatch(new RegExp(`${MANAGED}\\s+managed \\(${managed.id}\\)`));
  expect(inv.stdout).toMatch(new RegExp(`${BY_HAND}\\s+unmanaged`));

  const run = await cli(['audit', '--environment', 'contoso-prod', '--run']);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/audit of contoso-prod requested/);
  expect(run.stdout).toMatch(/completed: \d+ findings, 0 repaired/);
  expect(run.stdout).toMatch(new RegExp(`unmanaged\\s+${BY_HAND}`));
  expect(run.stdout).toMatch(/schedule niu-audit@.*:contoso-prod: every 3600 s, active/);

  expect((await cli(['audit'])).code).toBe(2);
});

test('the inventory is 503 within its bound when no worker answers (a task queue no worker polls)', async () => {
  await withApiWithoutWorker(e2e.stack, { audit: { inventoryTimeoutMs: 2_000 } }, async (url) => {
    const res = await call<{ type: string }>(url, 'GET', '/v1/environments/contoso-prod/non-interactive-users', {
      token: e2e.reader,
    });
    expect(res.status).toBe(503);
    expect(res.body.type).toMatch(/inventory-unavailable/);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(res.ms).toBeLessThan(2_000 + 5_000);
    // No worker on that queue ever made its schedule either.
    const audit = await call<{ type: string }>(url, 'GET', '/v1/environments/contoso-prod/audit', {
      token: e2e.reader,
    });
    expect(audit.status).toBe(404);
    expect(audit.body.type).toMatch(/audit-not-scheduled/);
  });
});
