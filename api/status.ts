// Builds the status document of a request (ARCHITECTURE.md section 5). While the workflow runs,
// its `status` query is the truth. Once it has closed, the query is still answered (Temporal
// replays the history on a worker), and the close status, result or failure from the server
// settle the outcome; if no worker can answer in time, the document is rebuilt from describe
// and the result alone, so finished requests always answer.
import {
  WorkflowFailedError,
  type Client,
  type WorkflowExecutionDescription,
  type WorkflowExecutionStatusName,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import {
  STATUS_QUERY,
  STEP_NAMES,
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

/** A document from the server's view only (no query answer): steps are unknown, so pending. */
export function skeletonDocument(description: WorkflowExecutionDescription): StatusDocument {
  const parsed = parseId(description.workflowId);
  const step = searchAttributeValue(description.typedSearchAttributes, 'NiuStep');
  const currentStep = (STEP_NAMES as readonly string[]).includes(step ?? '') ? (step as StepName) : null;
  return {
    id: description.workflowId,
    environment: searchAttributeValue(description.typedSearchAttributes, 'NiuEnvironment') ?? parsed?.environment ?? '',
    userPrincipalName:
      searchAttributeValue(description.typedSearchAttributes, 'NiuUserPrincipalName') ??
      parsed?.userPrincipalName ??
      '',
    status: requestStatusOf(description.status.name),
    currentStep,
    steps: pendingSteps(),
    result: null,
    error: null,
    createdAt: description.startTime.toISOString(),
    updatedAt: (description.closeTime ?? description.startTime).toISOString(),
  };
}

/** Normalizes a query answer: the eight steps in order, whatever the workflow reported. */
function normalize(doc: StatusDocument, fallback: StatusDocument): StatusDocument {
  const byName = new Map((doc.steps ?? []).map((s) => [s.name, s]));
  return {
    ...fallback,
    ...doc,
    steps: STEP_NAMES.map(
      (name) =>
        byName.get(name) ?? { name, status: 'pending', attempts: 0, startedAt: null, completedAt: null, error: null },
    ),
    result: doc.result ?? null,
    error: doc.error ?? null,
    createdAt: doc.createdAt ?? fallback.createdAt,
    updatedAt: doc.updatedAt ?? fallback.updatedAt,
  };
}

export interface StatusSources {
  describe: () => Promise<WorkflowExecutionDescription>;
  query: () => Promise<StatusDocument>;
  result: () => Promise<ProvisionResult | unknown>;
}

/** Sources backed by a Temporal client (each call bounded by the caller's gateway). */
export function statusSourcesFor(client: Client, id: string): StatusSources {
  const handle = client.workflow.getHandle(id);
  return {
    describe: () => handle.describe(),
    query: () => handle.query<StatusDocument>(STATUS_QUERY),
    result: () => handle.result(),
  };
}

/**
 * Combines the sources. `describe` must succeed (its WorkflowNotFoundError means 404); the query
 * and the result are best effort.
 */
export async function buildStatus(
  description: WorkflowExecutionDescription,
  query: () => Promise<StatusDocument | null>,
  result: () => Promise<{ ok: true; value: unknown } | { ok: false; error: unknown } | null>,
): Promise<StatusDocument> {
  const skeleton = skeletonDocument(description);
  const answered = await query();
  const doc = answered ? normalize(answered, skeleton) : skeleton;
  if (skeleton.status === 'running') {
    // The server says running: trust the query's view of progress, but never a final state
    // the server has not recorded yet.
    return { ...doc, status: 'running' };
  }
  // Closed: the server's close status is final; fill the outcome from the result or failure.
  doc.status = skeleton.status;
  if (doc.status === 'succeeded' && !doc.result) {
    const outcome = await result();
    if (outcome?.ok) doc.result = (outcome.value as ProvisionResult) ?? null;
  }
  if (doc.status !== 'succeeded' && !doc.error) {
    const outcome = await result();
    if (outcome && !outcome.ok) doc.error = failureInfo(outcome.error);
    else if (doc.status === 'cancelled') doc.error = { type: 'cancelled', message: 'The request was cancelled.' };
    else doc.error = { type: 'internal', message: 'The request failed.' };
  }
  if (doc.status === 'succeeded') doc.error = null;
  doc.currentStep = doc.status === 'succeeded' ? null : doc.currentStep;
  doc.updatedAt = skeleton.updatedAt > doc.updatedAt ? skeleton.updatedAt : doc.updatedAt;
  return doc;
}
