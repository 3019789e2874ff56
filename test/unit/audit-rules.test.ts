// The drift audit's rules (workflows/audit-rules.ts), without a Temporal server: which findings
// apply, who is managed, what may be repaired, and what the inventory lists.
import {
  auditFindings,
  countByKind,
  dueForRotation,
  inventoryOf,
  isManaged,
  mayRepair,
  userFindings,
} from '../../workflows/audit-rules';
import type { AuditSnapshot, ObservedUser } from '../../workflows/audit-types';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW - days * 24 * 60 * 60_000).toISOString();

let n = 0;
/** A healthy managed user in mode 4; `overrides` change it. */
function user(overrides: Partial<ObservedUser> = {}, account: Partial<NonNullable<ObservedUser['account']>> = {}) {
  n += 1;
  const upn = `svc-${n}@contoso.onmicrosoft.com`;
  return {
    systemUserId: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    entraObjectId: `10000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    userPrincipalName: upn,
    accessMode: 4,
    isDisabled: false,
    listed: true,
    account: {
      accountEnabled: true,
      licenses: [],
      passwordPolicies: 'DisablePasswordExpiration',
      lastPasswordChangeDateTime: daysAgo(400),
      marked: true,
      ...account,
    },
    requestId: `niu:contoso-prod:${upn}`,
    ...overrides,
  } satisfies ObservedUser;
}

function snapshot(users: ObservedUser[], overrides: Partial<AuditSnapshot> = {}): AuditSnapshot {
  return {
    environment: 'contoso-prod',
    readAt: new Date(NOW).toISOString(),
    limit: 7,
    used: users.filter((u) => u.accessMode === 4).length,
    licenseSku: 'DYN365_ENTERPRISE_PLAN1',
    repair: false,
    passwordMaxAgeDays: 90,
    passwordWarningDays: 14,
    rotatePasswordAfterDays: null,
    users,
    ...overrides,
  };
}

const kinds = (s: AuditSnapshot, u: ObservedUser) => userFindings(s, u, NOW).map(([k]) => k);

describe('managed or not', () => {
  test('a marked account with a succeeded request is managed', () => {
    expect(isManaged(user())).toBe(true);
  });
  test('an unmarked account is not, even with a request of that id', () => {
    expect(isManaged(user({}, { marked: false }))).toBe(false);
  });
  test('a marked account without a succeeded request is not', () => {
    expect(isManaged(user({ requestId: null }))).toBe(false);
  });
  test('a deleted account of a succeeded request still is (there is no mark left to read)', () => {
    expect(isManaged(user({ account: null }))).toBe(true);
  });
});

describe('findings of one user', () => {
  test('a healthy managed user has none', () => {
    const u = user();
    expect(kinds(snapshot([u]), u)).toEqual([]);
  });

  test('access-mode-reverted: a managed user no longer in mode 4', () => {
    const u = user({ accessMode: 0, listed: false });
    expect(kinds(snapshot([u]), u)).toEqual(['access-mode-reverted']);
  });

  test('a user that is not managed is never access-mode-reverted', () => {
    const u = user({ accessMode: 1, listed: false, requestId: null });
    expect(kinds(snapshot([u]), u)).toEqual([]);
  });

  test("license-held: the environment's license, whatever the case of its name", () => {
    const u = user({}, { licenses: ['dyn365_enterprise_plan1'] });
    expect(kinds(snapshot([u]), u)).toEqual(['license-held']);
    const other = user({}, { licenses: ['SOME_OTHER_SKU'] });
    expect(kinds(snapshot([other]), other)).toEqual([]);
  });

  test('account-disabled, systemuser-disabled', () => {
    const u = user({ isDisabled: true }, { accountEnabled: false });
    expect(kinds(snapshot([u]), u)).toEqual(['account-disabled', 'systemuser-disabled']);
  });

  test('account-deleted: a managed user whose account is gone', () => {
    const u = user({ account: null });
    expect(kinds(snapshot([u]), u)).toEqual(['account-deleted']);
  });

  test('unmanaged: a listed user this service did not make', () => {
    const u = user({ requestId: null }, { marked: false });
    expect(kinds(snapshot([u]), u)).toEqual(['unmanaged']);
  });

  test('an unlisted user that is not managed has no finding of its own kind', () => {
    const u = user({ listed: false, requestId: null });
    expect(kinds(snapshot([u]), u)).toEqual([]);
  });

  describe('password-expiring', () => {
    const s = snapshot([]);
    test.each([
      ['inside the warning window', 80, true],
      ['exactly at the window', 76, true],
      ['already past the maximum', 120, true],
      ['younger than max age minus the window', 70, false],
    ])('%s (%d days old)', (_what, age, expiring) => {
      const u = user({}, { passwordPolicies: null, lastPasswordChangeDateTime: daysAgo(age) });
      expect(kinds(s, u).includes('password-expiring')).toBe(expiring);
    });

    test('never with DisablePasswordExpiration (alone or with another policy)', () => {
      const u = user({}, { passwordPolicies: 'DisableStrongPassword, DisablePasswordExpiration' });
      expect(kinds(s, u)).toEqual([]);
    });

    test('never without a known change time', () => {
      const u = user({}, { passwordPolicies: null, lastPasswordChangeDateTime: null });
      expect(kinds(s, u)).toEqual([]);
    });

    test('the detail says how many days are left, or that it has expired', () => {
      const soon = user({}, { passwordPolicies: null, lastPasswordChangeDateTime: daysAgo(85) });
      expect(userFindings(s, soon, NOW)[0]![1]).toMatch(/expires in about 5 days/);
      const past = user({}, { passwordPolicies: null, lastPasswordChangeDateTime: daysAgo(95) });
      expect(userFindings(s, past, NOW)[0]![1]).toMatch(/past the 90-day maximum/);
    });
  });
});

describe('the environment', () => {
  test('over-limit only when the count exceeds the limit', () => {
    const at = auditFindings(snapshot([], { used: 7, limit: 7 }), NOW);
    expect(at).toEqual([]);
    const over = auditFindings(snapshot([], { used: 8, limit: 7 }), NOW);
    expect(over).toEqual([expect.objectContaining({ kind: 'over-limit', userPrincipalName: null, repaired: false })]);
  });
});

describe('repairs', () => {
  const reverted = user({ accessMode: 0, listed: false });
  const licensed = user({}, { licenses: ['DYN365_ENTERPRISE_PLAN1'] });
  const foreign = user({ requestId: null }, { marked: false, licenses: ['DYN365_ENTERPRISE_PLAN1'] });
  const disabled = user({}, { accountEnabled: false });

  test('with repair on: managed users, repairable kinds only', () => {
    const s = snapshot([reverted, licensed, foreign, disabled], { repair: true });
    const repairable = auditFindings(s, NOW)
      .filter((f) => mayRepair(s, f))
      .map((f) => [f.kind, f.userPrincipalName]);
    expect(repairable).toEqual([
      ['access-mode-reverted', reverted.userPrincipalName],
      ['license-held', licensed.userPrincipalName],
    ]);
  });

  test('an unmanaged user holding the license is reported, never repaired', () => {
    const s = snapshot([foreign], { repair: true });
    const findings = auditFindings(s, NOW);
    expect(findings.map((f) => f.kind)).toEqual(['license-held', 'unmanaged']);
    expect(findings.some((f) => mayRepair(s, f))).toBe(false);
  });

  test('with repair off: nothing', () => {
    const s = snapshot([reverted, licensed]);
    expect(auditFindings(s, NOW).some((f) => mayRepair(s, f))).toBe(false);
  });
});

describe('password rotation by the audit', () => {
  const old = user({}, { lastPasswordChangeDateTime: daysAgo(31) });
  const fresh = user({}, { lastPasswordChangeDateTime: daysAgo(29) });
  const disabled = user({}, { lastPasswordChangeDateTime: daysAgo(31), accountEnabled: false });
  const theirs = user({ requestId: null }, { lastPasswordChangeDateTime: daysAgo(31) });
  const deleted = user({ account: null });

  test("this service's enabled users whose password is that old, expiring or not", () => {
    const due = dueForRotation(snapshot([old, fresh, disabled, theirs, deleted], { rotatePasswordAfterDays: 30 }), NOW);
    expect(due.map((u) => u.userPrincipalName)).toEqual([old.userPrincipalName]);
  });
  test('none without rotatePasswordAfterDays', () => {
    expect(dueForRotation(snapshot([old]), NOW)).toEqual([]);
  });
});

describe('inventory', () => {
  test('lists the listed users only, by name, with their findings and request', () => {
    const managed = user({}, { licenses: ['DYN365_ENTERPRISE_PLAN1'] });
    const foreign = user({ requestId: null }, { marked: false });
    const reverted = user({ accessMode: 0, listed: false });
    const inv = inventoryOf(snapshot([foreign, managed, reverted], { used: 9 }), NOW);
    expect(inv.items.map((i) => [i.userPrincipalName, i.managed, i.requestId, i.findings])).toEqual([
      [managed.userPrincipalName, true, managed.requestId, ['license-held']],
      [foreign.userPrincipalName, false, null, ['unmanaged']],
    ]);
    expect(inv.items[0]!.licenses).toEqual(['DYN365_ENTERPRISE_PLAN1']);
    expect(inv.findings).toEqual(['over-limit']);
  });

  test('a marked account whose request did not succeed is unmanaged, with no request id', () => {
    const u = user({ requestId: null });
    const [item] = inventoryOf(snapshot([u]), NOW).items;
    expect(item).toMatchObject({ managed: false, requestId: null, findings: ['unmanaged'] });
  });
});

test('countByKind counts every kind, zeros included', () => {
  const counts = countByKind([{ kind: 'unmanaged' }, { kind: 'unmanaged' }, { kind: 'over-limit' }]);
  expect(counts.unmanaged).toBe(2);
  expect(counts['over-limit']).toBe(1);
  expect(counts['license-held']).toBe(0);
  expect(Object.keys(counts)).toHaveLength(8);
});
