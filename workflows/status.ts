// Builds the status document (docs/api.md) that the `status` query returns. The
// workflow mutates one instance as it goes; timestamps come from the workflow clock
// (deterministic: Date.now() inside a workflow is the time of the current workflow task).
import {
  STEP_NAMES,
  workflowIdFor,
  type ProvisionResult,
  type RequestStatus,
  type StatusDocument,
  type StepName,
  type StepState,
} from './types';

/** What a status document is about: its account and environment, and when it was asked for. */
export interface StatusSubject {
  environment: string;
  userPrincipalName: string;
  requestedAt?: string;
}

/** The steps (provisioning's eight unless named), none started: where every status document begins. */
export function pendingSteps<S extends string = StepName>(
  names: readonly S[] = STEP_NAMES as readonly string[] as readonly S[],
): StepState<S>[] {
  return names.map((name) => ({
    name,
    status: 'pending',
    attempts: 0,
    startedAt: null,
    completedAt: null,
    error: null,
    detail: null,
  }));
}

/**
 * Provisioning's by default; another workflow names its steps, and its id (the document's `id`
 * is the request's, which may differ from the workflow's).
 */
export class StatusBuilder<S extends string = StepName, R = ProvisionResult> {
  private readonly doc: StatusDocument<S, R>;

  constructor(
    input: StatusSubject,
    now: Date,
    names: readonly S[] = STEP_NAMES as readonly string[] as readonly S[],
    id = workflowIdFor(input.environment, input.userPrincipalName),
  ) {
    const at = now.toISOString();
    this.doc = {
      id,
      environment: input.environment,
      userPrincipalName: input.userPrincipalName,
      status: 'running',
      currentStep: null,
      steps: pendingSteps(names),
      result: null,
      error: null,
      createdAt: input.requestedAt ?? at,
      updatedAt: at,
    };
  }

  step(name: S): StepState<S> {
    return this.doc.steps.find((s) => s.name === name)!;
  }

  private touch(): void {
    this.doc.updatedAt = new Date().toISOString();
  }

  start(name: S, detail: string | null = null): void {
    const s = this.step(name);
    s.status = 'running';
    s.startedAt ??= new Date().toISOString();
    s.attempts += 1;
    s.detail = detail;
    this.doc.currentStep = name;
    this.touch();
  }

  /** One more attempt inside a running step (polls, re-applies). */
  attempt(name: S, detail?: string): void {
    const s = this.step(name);
    s.attempts += 1;
    if (detail !== undefined) s.detail = detail;
    this.touch();
  }

  /** The attempt count reported by an activity that Temporal retried (await-dataverse-user). */
  attemptsAre(name: S, attempts: number): void {
    const s = this.step(name);
    s.attempts = Math.max(s.attempts, attempts);
    this.touch();
  }

  /** Says something of the step without changing its status. */
  note(name: S, detail: string): void {
    this.step(name).detail = detail;
    this.touch();
  }

  waiting(name: S, detail: string): void {
    const s = this.step(name);
    s.status = 'waiting';
    s.detail = detail;
    this.touch();
  }

  running(name: S, detail?: string): void {
    const s = this.step(name);
    s.status = 'running';
    if (detail !== undefined) s.detail = detail;
    this.touch();
  }

  complete(name: S, detail: string | null = null): void {
    const s = this.step(name);
    s.status = 'completed';
    s.completedAt = new Date().toISOString();
    s.detail = detail;
    this.touch();
  }

  skip(name: S, detail: string): void {
    const s = this.step(name);
    s.status = 'skipped';
    s.completedAt = new Date().toISOString();
    s.detail = detail;
    this.touch();
  }

  fail(name: S, error: { type: string; message: string }): void {
    const s = this.step(name);
    s.status = 'failed';
    s.completedAt = new Date().toISOString();
    s.error = error;
    this.touch();
  }

  compensated(name: S, detail: string): void {
    const s = this.step(name);
    s.status = 'compensated';
    s.detail = detail;
    this.touch();
  }

  finish(status: RequestStatus, result: R | null, error: { type: string; message: string } | null): void {
    this.doc.status = status;
    this.doc.result = result;
    this.doc.error = error;
    if (status === 'succeeded') this.doc.currentStep = null;
    this.touch();
  }

  /** A copy, so a query never sees a half-updated object. */
  snapshot(): StatusDocument<S, R> {
    return JSON.parse(JSON.stringify(this.doc)) as StatusDocument<S, R>;
  }
}

export function isTerminal(status: RequestStatus): boolean {
  return status !== 'running';
}
