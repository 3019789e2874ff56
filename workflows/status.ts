// Builds the status document (docs/api.md) that the `status` query returns. The
// workflow mutates one instance as it goes; timestamps come from the workflow clock
// (deterministic: Date.now() inside a workflow is the time of the current workflow task).
import {
  STEP_NAMES,
  workflowIdFor,
  type ProvisionInput,
  type ProvisionResult,
  type RequestStatus,
  type StatusDocument,
  type StepName,
  type StepState,
} from './types';

/** The eight steps, none started: where every status document begins. */
export function pendingSteps(): StepState[] {
  return STEP_NAMES.map((name) => ({
    name,
    status: 'pending',
    attempts: 0,
    startedAt: null,
    completedAt: null,
    error: null,
    detail: null,
  }));
}

export class StatusBuilder {
  private readonly doc: StatusDocument;

  constructor(input: ProvisionInput, now: Date) {
    const at = now.toISOString();
    this.doc = {
      id: workflowIdFor(input.environment, input.userPrincipalName),
      environment: input.environment,
      userPrincipalName: input.userPrincipalName,
      status: 'running',
      currentStep: null,
      steps: pendingSteps(),
      result: null,
      error: null,
      createdAt: input.requestedAt ?? at,
      updatedAt: at,
    };
  }

  step(name: StepName): StepState {
    return this.doc.steps.find((s) => s.name === name)!;
  }

  private touch(): void {
    this.doc.updatedAt = new Date().toISOString();
  }

  start(name: StepName, detail: string | null = null): void {
    const s = this.step(name);
    s.status = 'running';
    s.startedAt ??= new Date().toISOString();
    s.attempts += 1;
    s.detail = detail;
    this.doc.currentStep = name;
    this.touch();
  }

  /** One more attempt inside a running step (polls, re-applies). */
  attempt(name: StepName, detail?: string): void {
    const s = this.step(name);
    s.attempts += 1;
    if (detail !== undefined) s.detail = detail;
    this.touch();
  }

  /** The attempt count reported by an activity that Temporal retried (await-dataverse-user). */
  attemptsAre(name: StepName, attempts: number): void {
    const s = this.step(name);
    s.attempts = Math.max(s.attempts, attempts);
    this.touch();
  }

  /** Says something of the step without changing its status. */
  note(name: StepName, detail: string): void {
    this.step(name).detail = detail;
    this.touch();
  }

  waiting(name: StepName, detail: string): void {
    const s = this.step(name);
    s.status = 'waiting';
    s.detail = detail;
    this.touch();
  }

  running(name: StepName, detail?: string): void {
    const s = this.step(name);
    s.status = 'running';
    if (detail !== undefined) s.detail = detail;
    this.touch();
  }

  complete(name: StepName, detail: string | null = null): void {
    const s = this.step(name);
    s.status = 'completed';
    s.completedAt = new Date().toISOString();
    s.detail = detail;
    this.touch();
  }

  skip(name: StepName, detail: string): void {
    const s = this.step(name);
    s.status = 'skipped';
    s.completedAt = new Date().toISOString();
    s.detail = detail;
    this.touch();
  }

  fail(name: StepName, error: { type: string; message: string }): void {
    const s = this.step(name);
    s.status = 'failed';
    s.completedAt = new Date().toISOString();
    s.error = error;
    this.touch();
  }

  compensated(name: StepName, detail: string): void {
    const s = this.step(name);
    s.status = 'compensated';
    s.detail = detail;
    this.touch();
  }

  finish(status: RequestStatus, result: ProvisionResult | null, error: { type: string; message: string } | null): void {
    this.doc.status = status;
    this.doc.result = result;
    this.doc.error = error;
    if (status === 'succeeded') this.doc.currentStep = null;
    this.touch();
  }

  /** A copy, so a query never sees a half-updated object. */
  snapshot(): StatusDocument {
    return JSON.parse(JSON.stringify(this.doc)) as StatusDocument;
  }
}

export function isTerminal(status: RequestStatus): boolean {
  return status !== 'running';
}
