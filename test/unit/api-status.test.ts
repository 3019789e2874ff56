// How the API assembles the status document from Temporal's answers (api/status.ts): the query
// while running, the server's close status as the final word, and a document rebuilt from
// describe and the result when no worker can answer the query.
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, RetryState, TypedSearchAttributes } from '@temporalio/common';
import { buildStatus, parseId, requestStatusOf } from '../../api/status';
import { NIU_ENVIRONMENT, NIU_STEP, NIU_USER_PRINCIPAL_NAME } from '../../api/search-attributes';
import { STEP_NAMES, type StatusDocument } from '../../workflows/types';

const ID = 'niu:contoso-prod:svc-erp@contoso.onmicrosoft.com';
const started = new Date('2026-11-27T10:00:00.000Z');
const closed = new Date('2026-11-27T10:05:00.000Z');

function description(status: WorkflowExecutionDescription['status']['name'], step = 'set-access-mode') {
  return {
    workflowId: ID,
    runId: 'run-1',
    type: 'provisionNonInteractiveUser',
    status: { name: status, code: 0 },
    startTime: started,
    closeTime: status === 'RUNNING' ? undefined : closed,
    typedSearchAttributes: new TypedSearchAttributes([
      { key: NIU_ENVIRONMENT, value: 'contoso-prod' },
      { key: NIU_USER_PRINCIPAL_NAME, value: 'svc-erp@contoso.onmicrosoft.com' },
      { key: NIU_STEP, value: step },
    ]),
  } as unknown as WorkflowExecutionDescription;
}

function queried(overrides: Partial<StatusDocument>): StatusDocument {
  return {
    id: ID,
    environment: 'contoso-prod',
    userPrincipalName: 'svc-erp@contoso.onmicrosoft.com',
    status: 'running',
    currentStep: 'create-entra-user',
    steps: STEP_NAMES.map((name, i) => ({
      name,
      status: i === 0 ? 'completed' : i === 1 ? 'running' : 'pending',
      attempts: i < 2 ? 1 : 0,
      startedAt: i < 2 ? started.toISOString() : null,
      completedAt: i === 0 ? started.toISOString() : null,
      error: null,
    })),
    result: null,
    error: null,
    createdAt: started.toISOString(),
    updatedAt: started.toISOString(),
    ...overrides,
  };
}

const noResult = async () => null;

test('ids and statuses', () => {
  expect(parseId(ID)).toEqual({ environment: 'contoso-prod', userPrincipalName: 'svc-erp@contoso.onmicrosoft.com' });
  expect(parseId('niu-capacity:contoso-prod')).toBeNull();
  expect(parseId('niu:contoso-prod:no-at-sign')).toBeNull();
  expect(requestStatusOf('COMPLETED')).toBe('succeeded');
  expect(requestStatusOf('CANCELLED')).toBe('cancelled');
  expect(requestStatusOf('TERMINATED')).toBe('failed');
  expect(requestStatusOf('RUNNING')).toBe('running');
});

test('running: the query answer is the document', async () => {
  const { document: doc, source } = await buildStatus(description('RUNNING'), async () => queried({}), noResult);
  expect(source).toBe('query');
  expect(doc.currentStep).toBe('create-entra-user');
  expect(doc.steps[1]).toMatchObject({ name: 'create-entra-user', status: 'running', attempts: 1 });
  expect(doc.status).toBe('running');
});

test('running but not yet queryable: a skeleton with the eight steps pending, step from the search attribute', async () => {
  const { document: doc, source } = await buildStatus(
    description('RUNNING', 'assign-license'),
    async () => null,
    noResult,
  );
  expect(source).toBe('server');
  expect(doc).toMatchObject({
    id: ID,
    status: 'running',
    currentStep: 'assign-license',
    environment: 'contoso-prod',
    userPrincipalName: 'svc-erp@contoso.onmicrosoft.com',
    createdAt: started.toISOString(),
  });
  expect(doc.steps.map((s) => [s.name, s.status])).toEqual(STEP_NAMES.map((n) => [n, 'pending']));
});

test('closed with no worker to answer the query: outcome from the result', async () => {
  const result = { entraObjectId: 'e1', systemUserId: 's1', accessMode: 'non-interactive' as const };
  const { document: doc, source } = await buildStatus(
    description('COMPLETED'),
    async () => null,
    async () => ({ ok: true, value: result }),
  );
  expect(source).toBe('server');
  expect(doc).toMatchObject({
    status: 'succeeded',
    result,
    error: null,
    currentStep: null,
    updatedAt: closed.toISOString(),
  });
});

test('closed failed: the failure type and message from the workflow failure', async () => {
  const failure = new WorkflowFailedError(
    'Workflow execution failed',
    ApplicationFailure.create({ type: 'capacity-exhausted', message: 'no slot left', nonRetryable: true }),
    RetryState.NON_RETRYABLE_FAILURE,
  );
  const { document: doc } = await buildStatus(
    description('FAILED'),
    async () => null,
    async () => ({ ok: false, error: failure }),
  );
  expect(doc.status).toBe('failed');
  expect(doc.error).toEqual({ type: 'capacity-exhausted', message: 'no slot left' });
});

test('closed: the server close status wins over a stale query answer, steps kept', async () => {
  const failure = new WorkflowFailedError(
    'cancelled',
    new CancelledFailure('Workflow canceled'),
    RetryState.NON_RETRYABLE_FAILURE,
  );
  const { document: doc, source } = await buildStatus(
    description('CANCELLED'),
    async () => queried({ status: 'running' }),
    async () => ({ ok: false, error: failure }),
  );
  expect(source).toBe('query');
  expect(doc.status).toBe('cancelled');
  expect(doc.error?.type).toBe('cancelled');
  expect(doc.steps[0]!.status).toBe('completed');
});

/** A query that must not be asked: closed runs that carry their steps need no worker. */
const noQuery = async (): Promise<StatusDocument | null> => {
  throw new Error('the query was asked');
};

test('closed succeeded with its final steps in the result: no query; the result without the steps', async () => {
  const steps = queried({}).steps.map((s) => ({ ...s, status: 'completed' as const }));
  const result = { entraObjectId: 'e1', systemUserId: 's1', accessMode: 'non-interactive' as const };
  const { document: doc, source } = await buildStatus(description('COMPLETED'), noQuery, async () => ({
    ok: true,
    value: { ...result, steps },
  }));
  expect(source).toBe('result');
  expect(doc).toMatchObject({ status: 'succeeded', result, error: null, currentStep: null });
  expect(doc.result).toEqual(result);
  expect(doc.steps).toEqual(steps);
});

test('closed failed with its final steps in the failure: no query; steps, step and error from the failure', async () => {
  const steps = queried({}).steps.map((s, i) => ({
    ...s,
    status: i === 0 ? ('compensated' as const) : i === 1 ? ('failed' as const) : ('pending' as const),
  }));
  const failure = new WorkflowFailedError(
    'Workflow execution failed',
    ApplicationFailure.create({
      type: 'upn-conflict',
      message: 'taken',
      nonRetryable: true,
      details: [{ steps, currentStep: 'create-entra-user' }],
    }),
    RetryState.NON_RETRYABLE_FAILURE,
  );
  const { document: doc, source } = await buildStatus(description('FAILED', 'assign-license'), noQuery, async () => ({
    ok: false,
    error: failure,
  }));
  expect(source).toBe('result');
  expect(doc).toMatchObject({ status: 'failed', currentStep: 'create-entra-user', result: null });
  expect(doc.error).toEqual({ type: 'upn-conflict', message: 'taken' });
  expect(doc.steps).toEqual(steps);
});
