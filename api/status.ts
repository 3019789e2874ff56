// Builds the status document of a request (docs/api.md: the query handler, then
// describe/result once closed). While the workflow runs, its `status` query is the truth. Once
// it has closed, the close status from describe and the run's result or failure settle it: the
// run leaves its final steps there, so no worker has to replay its history to answer a query.
// Runs that do not carry them (older runs, cancellations, terminations) are still queried, and
// if no worker answers in time the document is rebuilt from describe and the outcome alone, so
// finished requests always answer.
import {
  WorkflowFailedError,
  type WorkflowExecutionDescription,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import {
  STEP_NAMES,
  type FinalSteps,
  type ProvisionResult,
  type RequestStatus,
  type StatusDocument,
  type StepName,
} from '../workflows/types';
import { pendingSteps } from '../workflows/status';
import { searchAttributeValue } from './search-attributes';

export function requestStatusOf(name: WorkflowExecutionStatusName): RequestStatus {
  switch (name) {
    case 'COMPLETED':
      return 'succeeded';
    case 'CANCELLED':
      return 'cancelled';
    case 'FAILED':
    case 'TERMINATED':
    case 'TIMED_OUT':
      return 'failed';
    default:
      return 'running';
  }
}

/** Splits `niu:<environment>:<upn>` (the UPN part may itself contain no `:`). */
export function parseId(id: string): { environment: string; userPrincipalName: string } | null {
  const match = /^niu:([a-z0-9][a-z0-9-]*):([^:]+@[^:]+)$/.exec(id);
  return match ? { environment: match[1]!, userPrincipalName: match[2]! } : null;
}

export function failureInfo(err: unknown): { type: string; message: string } {
  const cause = err instanceof WorkflowFailedError ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? 'internal', message: cause.message };
  if (cause instanceof CancelledFailure) return { type: 'cancelled', message: 'The request was cancelled.' };
  if (cause instanceof TerminatedFailure)
    return { type: 'internal', message: 'The workflow was terminated by an operator.' };
  if (cause instanceof TimeoutFailure) return { type: 'internal', message: 'The workflow timed out.' };
  return { type: 'internal', message: 'The request failed.' };
}

/**
 * Which status document a workflow's is: provisioning's (its id is the workflow's, its steps the
 * eight), or another workflow's about a user (deprovisioning, rotation): the user's id, its steps.
 */
export interface DocumentShape {
  id: string;
  names: readonly string[];
}

/** A document from the server's view only (no query answer): steps are unknown, so pending. */
export function skeletonDocument(
  description: WorkflowExecutionDescription,
  shape: DocumentShape = { id: description.workflowId, names: STEP_NAMES },
): StatusDocument {
  const parsed = parseId(shape.id);
  const step = searchAttributeValue(description.typedSearchAttributes, 'NiuStep');
  const currentStep = shape.names.includes(step ?? '') ? (step as StepName) : null;
  return {
    id: shape.id,
    environment: searchAttributeValue(description.typedSearchAttributes, 'NiuEnvironment') ?? parsed?.environment ?? '',
    userPrincipalName:
      searchAttributeValue(description.typedSearchAttributes, 'NiuUserPrincipalName') ??
      parsed?.userPrincipalName ??
      '',
    status: requestStatusOf(description.status.name),
    currentStep,
    steps: pendingSteps(shape.names) as StatusDocument['steps'],
    result: null,
    error: null,
    createdAt: description.startTime.toISOString(),
    updatedAt: (description.closeTime ?? description.startTime).toISOString(),
  };
}

/** Normalizes a query answer: the steps in order, whatever the workflow reported. */
function normalize(doc: StatusDocument, fallback: StatusDocument): StatusDocument {
  const byName = new Map((doc.steps ?? []).map((s) => [s.name, s]));
  const names = fallback.steps.map((s) => s.name);
  return {
    ...fallback,
    ...doc,
    steps: names.map(
      (name) =>
        byName.get(name) ?? { name, status: 'pending', attempts: 0, startedAt: null, completedAt: null, error: null },
    ),
    result: doc.result ?? null,
    error: doc.error ?? null,
    createdAt: doc.createdAt ?? fallback.createdAt,
    updatedAt: doc.updatedAt ?? fallback.updatedAt,
  };
}

/** Where a status document came from (the API's `niu_api_status_documents_total` metric). */
export type StatusSource = 'query' | 'result' | 'server';

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown } | null;

/**
 * The steps a closed run ended with: in its result, or as the first detail of its failure.
 * Null for runs that ended before they were carried there, and for cancelled or terminated runs.
 */
function finalSteps(outcome: Outcome): FinalSteps | null {
  if (!outcome) return null;
  if (outcome.ok) {
    const steps = (outcome.value as ProvisionResult | null)?.steps;
    return Array.isArray(steps) ? { steps, currentStep: null } : null;
  }
  const cause = outcome.error instanceof WorkflowFailedError ? outcome.error.cause : outcome.error;
  const detail = cause instanceof ApplicationFailure ? (cause.details?.[0] as FinalSteps | undefined) : undefined;
  return Array.isArray(detail?.steps) ? detail : null;
}

/** The status document's `result`: the workflow's result without the steps it carries. */
function provisioned(value: unknown): ProvisionResult | null {
  if (!value || typeof value !== 'object') return null;
  const { steps: _steps, ...result } = value as ProvisionResult;
  return result;
}

/**
 * Combines the sources. `describe` must succeed (its WorkflowNotFoundError means 404); the query
 * and the result are best effort. While the run is open its query is the truth; once closed, the
 * run's outcome (one read of its close event) carries its final steps, and the query, which makes
 * a worker replay the history, is asked only of runs that do not carry them.
 */
export async function buildStatus(
  description: WorkflowExecutionDescription,
  query: () => Promise<StatusDocument | null>,
  result: () => Promise<Outcome>,
  shape?: DocumentShape,
): Promise<{ document: StatusDocument; source: StatusSource }> {
  const skeleton = skeletonDocument(description, shape);
  if (skeleton.status === 'running') {
    const answered = await query();
    // The server says running: trust the query's view of progress, but never a final state
    // the server has not recorded yet.
    const doc = answered ? normalize(answered, skeleton) : skeleton;
    return { document: { ...doc, status: 'running' }, source: answered ? 'query' : 'server' };
  }
  const outcome = await result();
  const final = finalSteps(outcome);
  const answered = final ? null : await query();
  const source: StatusSource = final ? 'result' : answered ? 'query' : 'server';
  const doc = final
    ? normalize({ ...skeleton, steps: final.steps, currentStep: final.currentStep ?? skeleton.currentStep }, skeleton)
    : answered
      ? normalize(answered, skeleton)
      : skeleton;
  // Closed: the server's close status is final; the outcome from the result or failure.
  doc.status = skeleton.status;
  if (doc.status === 'succeeded') {
    if (outcome?.ok) doc.result = provisioned(outcome.value) ?? doc.result;
    doc.error = null;
    doc.currentStep = null;
  } else if (!doc.error) {
    if (outcome && !outcome.ok) doc.error = failureInfo(outcome.error);
    else if (doc.status === 'cancelled') doc.error = { type: 'cancelled', message: 'The request was cancelled.' };
    else doc.error = { type: 'internal', message: 'The request failed.' };
  }
  doc.updatedAt = skeleton.updatedAt > doc.updatedAt ? skeleton.updatedAt : doc.updatedAt;
  return { document: doc, source };
}
