// The drift audit's decisions, apart from its I/O (activities/audit.ts reads the snapshot, the
// audit workflow repairs): which findings apply to each user and to the environment, which users
// are this service's, and which findings may be repaired. Plain, synchronous code: every decision
// can be checked without a Temporal server (test/unit/audit-rules.test.ts). Deterministic (used
// inside workflows): the time comes in as an argument.
import {
  FINDING_KINDS,
  REPAIRABLE_KINDS,
  type AuditSnapshot,
  type Finding,
  type FindingKind,
  type Inventory,
  type InventoryItem,
  type ObservedUser,
} from './audit-types';

const NON_INTERACTIVE = 4;
const DAY_MS = 24 * 60 * 60_000;

/**
 * This service's user: a provisioning request for it succeeded, and its Entra account, while it
 * exists, carries the service's mark. An account that was deleted has no mark to read: the
 * succeeded request alone makes it managed, so the deletion is reported (account-deleted).
 */
export function isManaged(u: ObservedUser): boolean {
  return u.requestId !== null && (u.account === null || u.account.marked);
}

function holdsLicense(u: ObservedUser, licenseSku: string): boolean {
  return !!u.account?.licenses.some((l) => l.toLowerCase() === licenseSku.toLowerCase());
}

/** Days since the last password change, when the password is subject to expiry; null: it is not. */
export function passwordAgeDays(u: ObservedUser, now: number): number | null {
  const a = u.account;
  if (!a || !a.lastPasswordChangeDateTime) return null;
  const policies = (a.passwordPolicies ?? '').split(',').map((p) => p.trim());
  if (policies.includes('DisablePasswordExpiration')) return null;
  const changed = Date.parse(a.lastPasswordChangeDateTime);
  return Number.isNaN(changed) ? null : (now - changed) / DAY_MS;
}

/**
 * This service's users due for a password rotation: an enabled account whose password is at
 * least the environment's `rotatePasswordAfterDays` old, whether or not it expires.
 */
export function dueForRotation(snapshot: AuditSnapshot, now: number): ObservedUser[] {
  const after = snapshot.rotatePasswordAfterDays;
  if (after === null) return [];
  return snapshot.users.filter((u) => {
    const changed = Date.parse(u.account?.lastPasswordChangeDateTime ?? '');
    return (
      isManaged(u) && u.account?.accountEnabled === true && u.entraObjectId !== null && now - changed >= after * DAY_MS
    );
  });
}

/** The kinds that apply to one user, with a detail each, in FINDING_KINDS order. */
export function userFindings(snapshot: AuditSnapshot, u: ObservedUser, now: number): [FindingKind, string][] {
  const managed = isManaged(u);
  const out: [FindingKind, string][] = [];
  if (managed && u.accessMode !== null && u.accessMode !== NON_INTERACTIVE) {
    out.push(['access-mode-reverted', `access mode is ${u.accessMode}, provisioned as ${NON_INTERACTIVE}`]);
  }
  if ((u.listed || managed) && holdsLicense(u, snapshot.licenseSku)) {
    out.push(['license-held', `holds ${snapshot.licenseSku}, which a non-interactive user does not need`]);
  }
  if (u.account && !u.account.accountEnabled) out.push(['account-disabled', 'the Entra account is disabled']);
  if (managed && u.account === null) out.push(['account-deleted', 'the Entra account no longer exists']);
  if (u.systemUserId !== null && u.isDisabled) out.push(['systemuser-disabled', 'the Dataverse user is disabled']);
  const age = passwordAgeDays(u, now);
  if (age !== null && age >= snapshot.passwordMaxAgeDays - snapshot.passwordWarningDays) {
    const left = Math.round(snapshot.passwordMaxAgeDays - age);
    out.push([
      'password-expiring',
      age > snapshot.passwordMaxAgeDays
        ? `the password is ${Math.floor(age)} days old: past the ${snapshot.passwordMaxAgeDays}-day maximum`
        : `the password is ${Math.floor(age)} days old: it expires in about ${left} days`,
    ]);
  }
  if (u.listed && !managed) out.push(['unmanaged', 'a non-interactive user this service did not provision']);
  return out;
}

/** Findings of the environment itself. */
export function environmentFindings(snapshot: AuditSnapshot): [FindingKind, string][] {
  return snapshot.used > snapshot.limit
    ? [['over-limit', `${snapshot.used} non-interactive users, over the limit of ${snapshot.limit}`]]
    : [];
}

/** Every finding of the snapshot, none repaired yet: the environment's first, then by user. */
export function auditFindings(snapshot: AuditSnapshot, now: number): Finding[] {
  const findings: Finding[] = environmentFindings(snapshot).map(([kind, detail]) => ({
    kind,
    userPrincipalName: null,
    systemUserId: null,
    entraObjectId: null,
    repaired: false,
    detail,
  }));
  for (const u of sortedUsers(snapshot.users)) {
    for (const [kind, detail] of userFindings(snapshot, u, now)) {
      findings.push({
        kind,
        userPrincipalName: u.userPrincipalName,
        systemUserId: u.systemUserId,
        entraObjectId: u.entraObjectId,
        repaired: false,
        detail,
      });
    }
  }
  return findings;
}

/**
 * Whether the audit may repair `finding`: repair is on for the environment, the kind is one it
 * repairs, and the user is this service's. Someone else's user is reported, never touched.
 */
export function mayRepair(snapshot: AuditSnapshot, finding: Finding): boolean {
  if (!snapshot.repair || !REPAIRABLE_KINDS.includes(finding.kind)) return false;
  const user = snapshot.users.find(
    (u) => u.userPrincipalName === finding.userPrincipalName && u.systemUserId === finding.systemUserId,
  );
  if (!user || !isManaged(user)) return false;
  // Each repair needs what it acts on: the systemuser for the mode, the account for the license.
  return finding.kind === 'access-mode-reverted' ? user.systemUserId !== null : user.entraObjectId !== null;
}

/** The inventory: the listed (mode-4, non-application) users with their findings. */
export function inventoryOf(snapshot: AuditSnapshot, now: number): Inventory {
  const items: InventoryItem[] = sortedUsers(snapshot.users)
    .filter((u) => u.listed && u.systemUserId !== null)
    .map((u) => {
      const managed = isManaged(u);
      return {
        systemUserId: u.systemUserId!,
        entraObjectId: u.entraObjectId,
        userPrincipalName: u.userPrincipalName,
        accessMode: u.accessMode ?? NON_INTERACTIVE,
        isDisabled: u.isDisabled,
        licenses: u.account?.licenses ?? [],
        managed,
        requestId: managed ? u.requestId : null,
        findings: userFindings(snapshot, u, now).map(([kind]) => kind),
        accountEnabled: u.account ? u.account.accountEnabled : null,
        passwordLastChangedAt: u.account?.lastPasswordChangeDateTime ?? null,
      };
    });
  return {
    environment: snapshot.environment,
    readAt: snapshot.readAt,
    limit: snapshot.limit,
    used: snapshot.used,
    items,
    findings: environmentFindings(snapshot).map(([kind]) => kind),
  };
}

/** Counts of findings per kind (every kind, zeros included), for the metrics. */
export function countByKind(findings: Pick<Finding, 'kind'>[]): Record<FindingKind, number> {
  const counts = Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
  for (const f of findings) counts[f.kind] += 1;
  return counts;
}

function sortedUsers(users: ObservedUser[]): ObservedUser[] {
  return [...users].sort((a, b) => a.userPrincipalName.localeCompare(b.userPrincipalName));
}
