import { StatusBuilder } from '../../workflows/status';
import { backoff, DEFAULT_TIMING, resolveTiming } from '../../workflows/timing';
import { admissionWorkflowId, STEP_NAMES } from '../../workflows/types';

describe('StatusBuilder', () => {
  const input = {
    environment: 'contoso-prod',
    userPrincipalName: 'Svc-ERP@contoso.onmicrosoft.com',
    displayName: 'ERP',
    usageLocation: 'US',
    licenseSku: 'DYN365_ENTERPRISE_PLAN1',
    securityRoles: [],
    requestedAt: '2026-01-01T00:00:00.000Z',
  };
  test('lists the eight steps in order, all pending, with the id of the request', () => {
    const doc = new StatusBuilder(input, new Date()).snapshot();
    expect(doc.id).toBe('niu:contoso-prod:svc-erp@contoso.onmicrosoft.com');
    expect(doc.steps.map((s) => s.name)).toEqual([...STEP_NAMES]);
    expect(doc.steps.every((s) => s.status === 'pending' && s.attempts === 0)).toBe(true);
    expect(doc.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(doc.status).toBe('running');
  });
  test('tracks a step through running, waiting, failed and compensated; snapshots are copies', () => {
    const b = new StatusBuilder(input, new Date());
    b.start('create-entra-user');
    const before = b.snapshot();
    b.complete('create-entra-user');
    b.start('assign-license');
    b.waiting('assign-license', 'hold on');
    b.attempt('assign-license');
    b.fail('assign-license', { type: 'license-unavailable', message: 'no seats' });
    b.compensated('create-entra-user', 'deleted');
    b.finish('failed', null, { type: 'license-unavailable', message: 'no seats' });
    const doc = b.snapshot();
    expect(before.steps[1]!.status).toBe('running');
    expect(doc.steps[1]!.status).toBe('compensated');
    expect(doc.steps[2]).toMatchObject({ status: 'failed', attempts: 2, error: { type: 'license-unavailable' } });
    expect(doc.currentStep).toBe('assign-license');
    expect(doc.status).toBe('failed');
  });
});

describe('timing', () => {
  test('defaults: 24 h sync timeout; overrides only for valid numbers', () => {
    expect(DEFAULT_TIMING.syncTimeoutMs).toBe(86_400_000);
    const t = resolveTiming({ syncTimeoutMs: 5000, verifySettleMs: -1 });
    expect(t.syncTimeoutMs).toBe(5000);
    expect(t.verifySettleMs).toBe(DEFAULT_TIMING.verifySettleMs);
  });
  test('back-off doubles and is capped', () => {
    expect([0, 1, 2, 3, 10, 100].map((n) => backoff(n, 1000, 5000))).toEqual([1000, 2000, 4000, 5000, 5000, 5000]);
  });
});

describe('the admission entity id', () => {
  test('is per task queue except on the default queue', () => {
    expect(admissionWorkflowId()).toBe('niu-admission');
    expect(admissionWorkflowId('noninteractive-users')).toBe('niu-admission');
    expect(admissionWorkflowId('q1')).toBe('niu-admission@q1');
  });
});
