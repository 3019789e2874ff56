// Shared types of the provisioning workflow: the step names and the status document are
// contracts (docs/design.md and docs/api.md); the API, the worker and operators' scripts
// all read them from here. Deterministic code only: no I/O, no Node built-ins.

/** The eight steps, in the order they run and are listed in every status document. */
export const STEP_NAMES = [
  'reserve-capacity',
  'create-entra-user',
  'assign-license',
  'await-dataverse-user',
  'set-access-mode',
  'assign-security-roles',
  'remove-license',
  'verify-access-mode',
] as const;
export type StepName = (typeof STEP_NAMES)[number];

export type StepStatus = 'pending' | 'running' | 'waiting' | 'completed' | 'failed' | 'skipped' | 'compensated';

export type RequestStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export const TASK_QUEUE = 'noninteractive-users';
export const WORKFLOW_TYPE = 'provisionNonInteractiveUser';
export const STATUS_QUERY = 'status';

/** Workflow id: one live request per UPN and environment (docs/design.md). */
export function workflowIdFor(environment: string, userPrincipalName: string): string {
  return `niu:${environment}:${userPrincipalName.toLowerCase()}`;
}

/** Stable failure types (ApplicationFailure.type), also the `error.type` of the status document. */
export const FAILURE_TYPES = [
  'upn-conflict',
  'license-unavailable',
  'invalid-usage-location',
  'capacity-exhausted',
  'permission-denied',
  'management-app-not-registered',
  'sync-timeout',
  'access-mode-reverted',
  'not-found',
  'invalid-request',
  'unknown-environment',
  'cancelled',
  'internal',
] as const;
export type FailureType = (typeof FAILURE_TYPES)[number];

/**
 * Failure types that retrying can never fix: the retry policies of every step list them as
 * non-retryable, whatever activity raises them (activities/errors.ts maps HTTP answers to them).
 */
export const NON_RETRYABLE_FAILURE_TYPES: string[] = [
  'upn-conflict',
  'license-unavailable',
  'invalid-usage-location',
  'capacity-exhausted',
  'permission-denied',
  'management-app-not-registered',
  'invalid-request',
  'unknown-environment',
  'sku-not-found',
  'role-not-found',
  'business-unit-not-found',
];

/**
 * Workflow input. The API resolves every default from the environment's configuration
 * before starting, so the history records exactly what was asked for.
 */
export interface ProvisionInput {
  environment: string;
  userPrincipalName: string;
  displayName: string;
  usageLocation: string;
  licenseSku: string;
  securityRoles: string[];
  businessUnit?: string;
  /** When the request was accepted (ISO 8601), shown as createdAt. */
  requestedAt?: string;
  /** Tuning, mostly for tests; defaults in workflows/timing.ts. */
  timing?: Partial<ProvisionTiming>;
}

export interface ProvisionTiming {
  /** Overall limit of the await-dataverse-user wait (default 24 h), then `sync-timeout`. */
  syncTimeoutMs: number;
  /** First and maximum interval between systemuser look-ups while waiting. */
  syncPollInitialMs: number;
  syncPollMaxMs: number;
  /** How long to keep forcing the sync with addUser (Microsoft's provider: 9 minutes). */
  forceSyncWindowMs: number;
  forceSyncIntervalMs: number;
  /** Settle interval before the access mode is re-read in verify-access-mode. */
  verifySettleMs: number;
  /** How many times verify-access-mode may set the mode again after a revert. */
  verifyMaxReapply: number;
  /** Longest wait between two attempts of an activity (a Retry-After may ask for longer). */
  retryMaxIntervalMs: number;
  /** How long one step's activity may keep retrying before the step fails. */
  stepRetryWindowMs: number;
}

export interface ProvisionResult {
  entraObjectId: string;
  systemUserId: string;
  accessMode: 'non-interactive';
  /** Key Vault secret id holding the generated password, when a vault is configured. */
  passwordSecretId?: string | null;
  /**
   * The steps as the run ended them. With them in the close event, a reader without a worker (the
   * API, once the run has closed) has the whole status document; answering the status query of a
   * closed run makes a worker replay its history. Never part of the status document's `result`.
   */
  steps?: StepState[];
}

/** The first detail of the failure a run ends with, for the same reason as `ProvisionResult.steps`. */
export interface FinalSteps {
  steps: StepState[];
  currentStep: StepName | null;
}

export interface StepState {
  name: StepName;
  status: StepStatus;
  attempts: number;
  startedAt: string | null;
  completedAt: string | null;
  error: { type: string; message: string } | null;
  /** Human-readable detail of what the step is doing or waiting for. */
  detail?: string | null;
}

export interface StatusDocument {
  id: string;
  environment: string;
  userPrincipalName: string;
  status: RequestStatus;
  currentStep: StepName | null;
  steps: StepState[];
  result: ProvisionResult | null;
  error: { type: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
}

// Admission (step reserve-capacity): ONE long-lived entity per task queue holds every account's
// lock and every environment's slots (workflows/admission.ts). The API reads the slots in use
// with its `reservations` query, and the live Dataverse figures through the short
// `readEnvironmentCapacity` workflow (the API never calls Microsoft itself).
export const ADMISSION_WORKFLOW_TYPE = 'admission';
export const RESERVATIONS_QUERY = 'reservations';
export const READ_CAPACITY_WORKFLOW_TYPE = 'readEnvironmentCapacity';
/** Signal names of the admission entity: a run's request, the entity's answer, a run's release. */
export const ADMISSION_SIGNALS = { admit: 'admit', answer: 'admission', release: 'releaseAdmission' } as const;

/**
 * The entity's id is per task queue when the queue is not the default one: test files run their
 * own worker (own queue, own sandbox) against one dev server, and must not share it.
 */
export function admissionWorkflowId(taskQueue?: string): string {
  return `niu-admission${taskQueue && taskQueue !== TASK_QUEUE ? `@${taskQueue}` : ''}`;
}

export interface CapacityReservations {
  /** Requests holding a slot that have not yet set access mode 4. */
  reserved: number;
  holders: string[];
}

/** Result of readEnvironmentCapacity: live figures from RetrieveOrganizationResources(). */
export interface EnvironmentCapacity {
  limit: number;
  used: number;
}

// Readiness: the short `checkEnvironmentReadiness` workflow runs the preflight checks
// (activities/preflight.ts, the same as `npm run doctor`) on a worker, for the API's
// `GET /v1/environments/{environment}/readiness`.
export const READINESS_WORKFLOW_TYPE = 'checkEnvironmentReadiness';

/** One prerequisite checked live with the worker's identity. */
export interface PreflightCheck {
  /** Stable name, e.g. `graph-permission-users` (docs/real-tenant.md lists them). */
  name: string;
  /** The environment it concerns; null: the tenant, the worker's identity or the vault. */
  environment: string | null;
  ok: boolean;
  /** What was found (never a secret or a token). */
  detail: string;
  /** The concrete action that makes it pass; null when it passes. */
  fix: string | null;
}

export interface PreflightReport {
  /** Every check passed. */
  ready: boolean;
  checks: PreflightCheck[];
}

/** What a run asks the admission entity for (its `admit` signal), and where the answer goes. */
export interface AdmissionRequest {
  requestId: string;
  workflowId: string;
  runId: string;
  environment: string;
  userPrincipalName: string;
  /**
   * false: the account's lock only, no slot (runs that never add a user to an environment's
   * count: deprovisioning, password rotation, repairs; workflows/account-lock.ts). Absent: both.
   */
  needsSlot?: boolean;
}

/** The entity's decision on a request. */
export interface CapacityDecision {
  granted: boolean;
  limit: number;
  /** Non-interactive users in Dataverse when the decision was taken. */
  used: number;
  /** Slots held by other in-flight requests when the decision was taken. */
  reserved: number;
}

/**
 * The admission entity's answers, its `admission` signal to the run: `queued` while another
 * request for the same account holds the lock (sent once, on queueing), then `decided`, or
 * `locked` for a lock-only request (`needsSlot: false`). A lock-only request's answers name the
 * account (lower-case UPN): a run that takes several accounts' locks one after the other tells a
 * late answer about an earlier account from the one it waits for.
 */
export type AdmissionMessage =
  | { requestId: string; outcome: 'queued'; position: number; account?: string }
  | { requestId: string; outcome: 'decided'; decision: CapacityDecision }
  | { requestId: string; outcome: 'locked'; account: string };

/** The run's `releaseAdmission` signal: the capacity slot only (mode 4 set), or everything (the run ends). */
export interface AdmissionRelease {
  requestId: string;
  runId: string;
  lock: boolean;
}
