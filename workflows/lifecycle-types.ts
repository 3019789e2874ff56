// Types of the workflows that act on a provisioned user: deprovisioning and password rotation.
// Their step names and status documents are contracts like provisioning's (docs/api.md); the
// documents have provisioning's shape (workflows/types.ts StatusDocument) with these steps.
import type { ProvisionTiming, StatusDocument } from './types';

export const DEPROVISION_WORKFLOW_TYPE = 'deprovisionNonInteractiveUser';
export const ROTATE_PASSWORD_WORKFLOW_TYPE = 'rotateNonInteractiveUserPassword';

/** Deprovisioning's steps, in the order they run and are listed (docs/design.md). */
export const DEPROVISION_STEP_NAMES = [
  'lock-account',
  'release-access-mode',
  'disable-entra-account',
  'await-dataverse-release',
  'delete-password-secret',
  'delete-entra-account',
] as const;
export type DeprovisionStepName = (typeof DEPROVISION_STEP_NAMES)[number];

export const ROTATION_STEP_NAMES = ['lock-account', 'rotate-password'] as const;
export type RotationStepName = (typeof ROTATION_STEP_NAMES)[number];

/**
 * Workflow ids, one live run per user (the provisioning's id is `niu:<environment>:<upn>`):
 * the API finds a user's deprovisioning and rotation from its id, and a repeated request while
 * one runs lands on the same run.
 */
export function deprovisionWorkflowIdFor(environment: string, userPrincipalName: string): string {
  return `niu-deprovision:${environment}:${userPrincipalName.toLowerCase()}`;
}
export function rotationWorkflowIdFor(environment: string, userPrincipalName: string): string {
  return `niu-rotate-password:${environment}:${userPrincipalName.toLowerCase()}`;
}

/** Workflow input: the user as provisioning left it (its result), and what to do with the account. */
/**
 * The Key Vault secret of an account's password (letters, digits and dashes only, as Key Vault
 * allows): one per account, a new version per password. The API knows it up front.
 */
export function secretNameFor(userPrincipalName: string): string {
  return `niu-${userPrincipalName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`.slice(0, 127);
}

export interface DeprovisionInput {
  environment: string;
  userPrincipalName: string;
  entraObjectId: string;
  /** Delete the Entra account too (only one carrying this service's mark, used nowhere else). */
  deleteAccount: boolean;
  requestedAt?: string;
  /**
   * Provisioning's timing (workflows/timing.ts): the wait for Dataverse to show the user out of
   * use has the sync wait's bounds (syncTimeoutMs, syncPollInitialMs, syncPollMaxMs).
   */
  timing?: Partial<ProvisionTiming>;
}

export interface DeprovisionResult {
  entraObjectId: string;
  /** The systemuser in the environment, null when there was none. */
  systemUserId: string | null;
  /** Its access mode now (0: read-write, no longer counted), null when there was none. */
  accessMode: number | null;
  accountDisabled: boolean;
  passwordSecretDeleted: boolean;
  accountDeleted: boolean;
  /** Environments where the account is still a non-interactive user (it was left enabled). */
  stillUsedIn: string[];
  steps?: unknown[];
}

export interface RotationInput {
  environment: string;
  userPrincipalName: string;
  entraObjectId: string;
  requestedAt?: string;
  timing?: Partial<ProvisionTiming>;
}

export interface RotationResult {
  entraObjectId: string;
  /** The new secret version's id (with its version), null when no vault is configured. */
  passwordSecretId: string | null;
  steps?: unknown[];
}

export type DeprovisionStatus = StatusDocument<DeprovisionStepName, DeprovisionResult>;
export type RotationStatus = StatusDocument<RotationStepName, RotationResult>;
