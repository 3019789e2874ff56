// Shared types of the live inventory and the drift audit: the finding kinds and the item fields
// are contracts (docs/api.md); the API, the worker, the CLI and the workflows read them from here.
// Deterministic code only: no I/O, no Node built-ins.
import { TASK_QUEUE } from './types';

/** What the audit can find, in the order a report lists them. */
export const FINDING_KINDS = [
  'access-mode-reverted',
  'license-held',
  'account-disabled',
  'account-deleted',
  'systemuser-disabled',
  'over-limit',
  'password-expiring',
  'unmanaged',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** The kinds the audit repairs (for managed users only, with the environment's `auditRepair`). */
export const REPAIRABLE_KINDS: readonly FindingKind[] = ['access-mode-reverted', 'license-held'];

export const AUDIT_WORKFLOW_TYPE = 'auditEnvironment';
export const INVENTORY_WORKFLOW_TYPE = 'readInventory';
export const AUDIT_PROGRESS_QUERY = 'progress';

/**
 * Id of an environment's audit schedule. On a task queue other than the default one the id
 * names the queue, as the admission entity's does (workflows/types.ts admissionWorkflowId): test
 * files run their own workers against one dev server and must not share or delete each other's.
 */
export function auditSchedulePrefix(taskQueue: string): string {
  return `niu-audit${taskQueue !== TASK_QUEUE ? `@${taskQueue}` : ''}:`;
}

export function auditScheduleId(environment: string, taskQueue: string): string {
  return `${auditSchedulePrefix(taskQueue)}${environment}`;
}

/** One user as the audit saw it, before any decision (activities/audit.ts reads it). */
export interface ObservedUser {
  /** Null when Dataverse has no systemuser for a managed account. */
  systemUserId: string | null;
  entraObjectId: string | null;
  userPrincipalName: string;
  /** Null when the systemuser was not found. */
  accessMode: number | null;
  isDisabled: boolean;
  /** Whether it was in the listing of mode-4, non-application users. */
  listed: boolean;
  /** The Entra account; null when Graph has none (deleted). */
  account: {
    accountEnabled: boolean;
    /** SKU part numbers of the licenses held. */
    licenses: string[];
    passwordPolicies: string | null;
    lastPasswordChangeDateTime: string | null;
    /** Carries ACCOUNT_MARK (activities/graph.ts): made by this service. */
    marked: boolean;
  } | null;
  /** The provisioning request (workflowIdFor) that succeeded for it; null: none. */
  requestId: string | null;
}

/** Everything the rules need, read live in one activity. */
export interface AuditSnapshot {
  environment: string;
  /** When it was read (ISO 8601). */
  readAt: string;
  limit: number;
  used: number;
  /** The environment's Dynamics license (its `licenseSku`): holding it is `license-held`. */
  licenseSku: string;
  /** The environment's `auditRepair`. */
  repair: boolean;
  passwordMaxAgeDays: number;
  passwordWarningDays: number;
  /** The environment's `rotatePasswordAfterDays`: null, no rotation by the audit. */
  rotatePasswordAfterDays: number | null;
  users: ObservedUser[];
}

export interface Finding {
  kind: FindingKind;
  /** Null for an environment-level finding (over-limit). */
  userPrincipalName: string | null;
  systemUserId: string | null;
  entraObjectId: string | null;
  /** Whether the audit repaired it (only REPAIRABLE_KINDS of managed users, with repair on). */
  repaired: boolean;
  /** What was found, for people. */
  detail: string;
}

export interface InventoryItem {
  systemUserId: string;
  entraObjectId: string | null;
  userPrincipalName: string;
  accessMode: number;
  isDisabled: boolean;
  licenses: string[];
  managed: boolean;
  requestId: string | null;
  findings: FindingKind[];
  accountEnabled: boolean | null;
  passwordLastChangedAt: string | null;
}

export interface Inventory {
  environment: string;
  readAt: string;
  limit: number;
  used: number;
  items: InventoryItem[];
  /** Findings of the environment itself (over-limit). */
  findings: FindingKind[];
}

/** The result of one audit run (the API reads the latest completed one). */
export interface AuditReport {
  environment: string;
  startedAt: string;
  completedAt: string;
  repair: boolean;
  findings: Finding[];
  /** The password rotations this audit started (the environment's `rotatePasswordAfterDays`). */
  rotations: { userPrincipalName: string; workflowId: string }[];
}

/** The audit's `progress` query: what it is doing now. */
export interface AuditProgress {
  phase: 'reading' | 'repairing' | 'done';
  detail: string;
  findings: number;
  repaired: number;
}
