// The drift audit and the inventory on the real dev server with a real worker against the
// sandbox: users provisioned by the service, each drifted the way it happens in a tenant, and one
// made by hand; the audit reports every finding kind, repairs only this service's users where the
// environment's auditRepair is on (each repair an activity in the history), and leaves the user
// made by hand exactly as it was.
import { randomUUID } from 'node:crypto';
import { useSandbox } from '../helpers/lifecycle';
import { DOMAIN, SKU_ID, SKU_PART, license } from '../helpers/sandbox';
import {
  FAST_SYNC,
  provisionInput,
  sandboxView,
  startDeprovision,
  startProvision,
  startTestWorker,
  testTaskQueue,
  type TestWorker,
} from '../helpers/worker';
import { agePassword, auditEnvironmentsFile, createUnmanagedUser, setAccessModeInDataverse } from '../helpers/drift';
import { workflowIdFor, type ProvisionResult } from '../../workflows/types';
import type { AuditReport, Finding, Inventory } from '../../workflows/audit-types';
import { rotationWorkflowIdFor, type RotationResult } from '../../workflows/lifecycle-types';

const { sandbox, control, graph } = useSandbox({
  config: { ...FAST_SYNC, environments: { 'contoso-prod': { nonInteractiveLimit: 10 } } },
});

let tw: TestWorker;
beforeAll(async () => {
  tw = await startTestWorker({
    sandboxUrl: sandbox.url,
    taskQueue: testTaskQueue('audit'),
    env: {
      ENVIRONMENTS_FILE: auditEnvironmentsFile(
        sandbox.url,
        { 'contoso-prod': true, 'contoso-test': false },
        { 'contoso-test': 30 },
      ),
      // The sandbox's vault, for the rotations the audit starts.
      KEYVAULT_URL: sandbox.url,
      KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
    },
  });
});
afterAll(() => tw?.stop());

const upn = (name: string) => `audit-${name}@${DOMAIN}`;
const PROD = ['healthy', 'reverted', 'licensed', 'disabled', 'deleted', 'su-disabled'] as const;
type ProdName = (typeof PROD)[number];
const made = {} as Record<ProdName | 'test-reverted', ProvisionResult & { requestId: string }>;
let handMade: { entraObjectId: string; systemUserId: string };

async function runWorkflow<T>(type: string, arg: unknown): Promise<{ result: T; workflowId: string }> {
  const workflowId = `test-${type}-${randomUUID()}`;
  const result = await tw.client.workflow.execute<(a: unknown) => Promise<T>>(type, {
    taskQueue: tw.taskQueue,
    workflowId,
    args: [arg],
    workflowExecutionTimeout: 60_000,
  });
  return { result, workflowId };
}
const audit = (environment: string) => runWorkflow<AuditReport>('auditEnvironment', { environment });
const inventory = (environment: string) => runWorkflow<Inventory>('readInventory', environment);

const about = (report: AuditReport, who: string) =>
  report.findings
    .filter((f) => f.userPrincipalName === who)
    .map((f): [Finding['kind'], boolean] => [f.kind, f.repaired]);

beforeAll(async () => {
  // Provisioned by the service (concurrently, as requests come), then drifted.
  const runs = [
    ...PROD.map((name) => ({ name, environment: 'contoso-prod' })),
    { name: 'test-reverted', environment: 'contoso-test' },
  ];
  await Promise.all(
    runs.map(async ({ name, environment }) => {
      const input = provisionInput(upn(name), { environment });
      const result = (await (await startProvision(tw, input)).result()) as ProvisionResult;
      made[name as ProdName] = { ...result, requestId: workflowIdFor(environment, input.userPrincipalName) };
    }),
  );
  handMade = await createUnmanagedUser({ sandbox, graph, control }, 'contoso-prod', upn('by-hand'));

  await setAccessModeInDataverse(sandbox, 'contoso-prod', made.reverted.systemUserId, 0);
  await setAccessModeInDataverse(sandbox, 'contoso-test', made['test-reverted'].systemUserId, 0);
  await license(graph, made.licensed.entraObjectId);
  await agePassword(graph, control, made.licensed.entraObjectId, 85);
  await graph.api(`/users/${made.disabled.entraObjectId}`).patch({ accountEnabled: false });
  await graph.api(`/users/${made.deleted.entraObjectId}`).delete();
  await control.patchSystemUser('contoso-prod', made['su-disabled'].systemUserId, { isdisabled: true });
  // Past the sandbox's sync delay: Dataverse has seen the account changes.
  await new Promise((r) => setTimeout(r, 1_000));
}, 110_000);

describe('with repair on', () => {
  let before: ReturnType<typeof sandboxView>;
  let after: ReturnType<typeof sandboxView>;
  let report: AuditReport;
  let workflowId: string;

  beforeAll(async () => {
    before = sandboxView(await control.state());
    ({ result: report, workflowId } = await audit('contoso-prod'));
    after = sandboxView(await control.state());
  }, 60_000);

  test('every user finding is reported, on the user it concerns', () => {
    expect(about(report, upn('healthy'))).toEqual([]);
    // Dataverse disables an unlicensed user that is not non-interactive on its next sync.
    expect(about(report, upn('reverted'))).toEqual([
      ['access-mode-reverted', true],
      ['systemuser-disabled', false],
    ]);
    expect(about(report, upn('licensed'))).toEqual([
      ['license-held', true],
      ['password-expiring', false],
    ]);
    // And the user of a disabled or deleted account.
    expect(about(report, upn('disabled'))).toEqual([
      ['account-disabled', false],
      ['systemuser-disabled', false],
    ]);
    expect(about(report, upn('deleted'))).toEqual([
      ['account-deleted', false],
      ['systemuser-disabled', false],
    ]);
    expect(about(report, upn('su-disabled'))).toEqual([['systemuser-disabled', false]]);
    expect(report.findings.find((f) => f.kind === 'password-expiring')!.detail).toMatch(/expires in about 5 days/);
    expect(report.repair).toBe(true);
  });

  test("this service's users are repaired: access mode 4 again, the license removed", () => {
    const reverted = (v: typeof before) => v.systemUser('contoso-prod', made.reverted.entraObjectId)!.accessmode;
    expect([reverted(before), reverted(after)]).toEqual([0, 4]);
    const licensed = (v: typeof before) => (v.user(upn('licensed'))!.assignedLicenses ?? []).map((l) => l.skuId);
    expect([licensed(before), licensed(after)]).toEqual([[SKU_ID], []]);
  });

  test('the user made by hand is reported and left exactly as it was', () => {
    expect(about(report, upn('by-hand'))).toEqual([
      ['license-held', false],
      ['unmanaged', false],
    ]);
    expect(after.user(upn('by-hand'))).toEqual(before.user(upn('by-hand')));
    expect(after.systemUser('contoso-prod', handMade.entraObjectId)).toEqual(
      before.systemUser('contoso-prod', handMade.entraObjectId),
    );
    expect(after.user(upn('by-hand'))!.assignedLicenses!.map((l) => l.skuId)).toEqual([SKU_ID]);
  });

  test('each repair is an activity of its own in the history, under the account lock', async () => {
    const history = await tw.client.workflow.getHandle(workflowId).fetchHistory();
    const scheduled = (history.events ?? [])
      .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
      .filter((name): name is string => !!name);
    // Users in name order: audit-licensed before audit-reverted.
    expect(scheduled).toEqual(['readAuditSnapshot', 'removeLicense', 'setAccessMode']);
    // The lock's local activities around each repair (their summaries, in order).
    const locks = (history.events ?? [])
      .filter((e) => e.markerRecordedEventAttributes)
      .map((e) => JSON.parse(Buffer.from(e.userMetadata!.summary!.data!).toString('utf8')) as string);
    expect(locks).toEqual([
      'ask for the account lock',
      'give back the account lock',
      'ask for the account lock',
      'give back the account lock',
    ]);
  });

  test('a second audit finds nothing left to repair', async () => {
    const { result } = await audit('contoso-prod');
    expect(result.findings.filter((f) => f.kind === 'access-mode-reverted' || f.kind === 'license-held')).toEqual([
      expect.objectContaining({ userPrincipalName: upn('by-hand'), kind: 'license-held', repaired: false }),
    ]);
  });
});

test('with repair off, a managed user is reported and not repaired', async () => {
  const who = made['test-reverted'];
  const before = sandboxView(await control.state()).systemUser('contoso-test', who.entraObjectId);
  const { result } = await audit('contoso-test');
  expect(result.repair).toBe(false);
  expect(about(result, upn('test-reverted'))).toEqual([
    ['access-mode-reverted', false],
    ['systemuser-disabled', false],
  ]);
  expect(sandboxView(await control.state()).systemUser('contoso-test', who.entraObjectId)).toEqual(before);
  expect(before!.accessmode).toBe(0);
});

test('the inventory lists the mode-4 users, managed or not, with their request and findings', async () => {
  const { result } = await inventory('contoso-prod');
  const byName = new Map(result.items.map((i) => [i.userPrincipalName, i]));
  expect(byName.get(upn('healthy'))).toMatchObject({
    systemUserId: made.healthy.systemUserId,
    entraObjectId: made.healthy.entraObjectId,
    accessMode: 4,
    isDisabled: false,
    licenses: [],
    managed: true,
    requestId: made.healthy.requestId,
    findings: [],
    accountEnabled: true,
  });
  expect(byName.get(upn('by-hand'))).toMatchObject({
    systemUserId: handMade.systemUserId,
    managed: false,
    requestId: null,
    licenses: [SKU_PART],
    findings: ['license-held', 'unmanaged'],
  });
  expect(byName.get(upn('disabled'))).toMatchObject({ managed: true, accountEnabled: false, isDisabled: true });
  // The repaired user is back in the listing; the application user never is.
  expect(byName.get(upn('reverted'))).toMatchObject({ accessMode: 4, managed: true, findings: [] });
  expect([...byName.keys()].every((name) => name.includes('@'))).toBe(true);
  expect(result.items).toHaveLength(7);
});

test('a deprovisioned user is no longer audited: nothing reported, its mode not set back to 4', async () => {
  const who = upn('deprovisioned');
  const result = (await (await startProvision(tw, provisionInput(who))).result()) as ProvisionResult;
  await (
    await startDeprovision(tw, {
      environment: 'contoso-prod',
      userPrincipalName: who,
      entraObjectId: result.entraObjectId,
    })
  ).result();
  const before = sandboxView(await control.state()).systemUser('contoso-prod', result.entraObjectId);
  expect(before!.accessmode).toBe(0);

  const { result: report } = await audit('contoso-prod');
  expect(report.repair).toBe(true);
  expect(about(report, who)).toEqual([]);
  expect(sandboxView(await control.state()).systemUser('contoso-prod', result.entraObjectId)).toEqual(before);
});

test("rotatePasswordAfterDays: the audit starts the rotation of a managed user's old password, once", async () => {
  const who = made['test-reverted'];
  await agePassword(graph, control, who.entraObjectId, 31);
  const { result } = await audit('contoso-test');
  expect(result.rotations).toEqual([
    {
      userPrincipalName: upn('test-reverted'),
      workflowId: rotationWorkflowIdFor('contoso-test', upn('test-reverted')),
    },
  ]);
  const rotated = await tw.client.workflow
    .getHandle<() => Promise<RotationResult>>(result.rotations[0]!.workflowId)
    .result();
  expect(rotated.passwordSecretId).toMatch(/\/secrets\/niu-audit-test-reverted-[^/]+\/[0-9a-f]+$/);
  const account = (await graph.api(`/users/${who.entraObjectId}`).select('lastPasswordChangeDateTime').get()) as {
    lastPasswordChangeDateTime: string;
  };
  expect(Date.now() - Date.parse(account.lastPasswordChangeDateTime)).toBeLessThan(60_000);
  // Fresh now: the next audit starts none; contoso-prod, without the setting, never does.
  expect((await audit('contoso-test')).result.rotations).toEqual([]);
  expect((await audit('contoso-prod')).result.rotations).toEqual([]);
});

test('over-limit: more non-interactive users than the limit', async () => {
  await control.config({ environments: { 'contoso-prod': { nonInteractiveLimit: 2 } } });
  const { result } = await audit('contoso-prod');
  expect(result.findings[0]).toMatchObject({ kind: 'over-limit', userPrincipalName: null, repaired: false });
  expect(result.findings[0]!.detail).toMatch(/over the limit of 2/);
  const { result: inv } = await inventory('contoso-prod');
  expect(inv.findings).toEqual(['over-limit']);
});

test('an unknown environment fails the audit for good', async () => {
  await expect(audit('nowhere')).rejects.toMatchObject({ cause: { cause: { type: 'unknown-environment' } } });
});
