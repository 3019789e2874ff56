// How the admission entity's activities (activities/entities.ts) treat what the Temporal client
// answers: a run that is gone is reported (the entity takes back what it holds), anything else
// goes to the retry policy. A run that vanishes between two calls cannot be provoked on demand
// against a real server, so the client here is a stand-in that throws the errors the real one
// does; the activity runs in the SDK's mock activity context.
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { entityActivities } from '../../activities/entities';
import { loadConfig } from '../../config';
import type { AdmissionMessage, AdmissionRequest } from '../../workflows/types';

/** A client whose workflow handles signal and describe with the given functions. */
function clientWith(handle: {
  signal?: (workflowId: string, name: string, arg: unknown) => Promise<void>;
  describe?: (workflowId: string) => Promise<{ status: { name: string } }>;
}): () => Promise<Client> {
  const client = {
    withAbortSignal: (_signal: AbortSignal, fn: () => Promise<unknown>) => fn(),
    workflow: {
      getHandle: (workflowId: string) => ({
        signal: (name: string, arg: unknown) => handle.signal!(workflowId, name, arg),
        describe: () => handle.describe!(workflowId),
      }),
    },
  };
  return async () => client as unknown as Client;
}

const notFound = (id: string) => new WorkflowNotFoundError('workflow not found', id, undefined);
const run = <A, R>(fn: (input: A) => Promise<R>, input: A) =>
  new MockActivityEnvironment({ startToCloseTimeoutMs: 30_000 }).run(fn, input);

const request = (name: string): AdmissionRequest => ({
  requestId: `niu:contoso-prod:${name}@contoso.onmicrosoft.com`,
  workflowId: `niu:contoso-prod:${name}@contoso.onmicrosoft.com`,
  runId: `run-${name}`,
  environment: 'contoso-prod',
  userPrincipalName: `${name}@contoso.onmicrosoft.com`,
});
const queued = (r: AdmissionRequest): AdmissionMessage => ({ requestId: r.requestId, outcome: 'queued', position: 1 });

test('answers go to each run by the admission signal; runs that are gone come back as request ids', async () => {
  const sent: [string, string, unknown][] = [];
  const [a, b] = [request('a'), request('b')];
  const { deliverAdmissions } = entityActivities(
    loadConfig({ NIU_SANDBOX: 'true' }),
    clientWith({
      signal: async (id, name, arg) => {
        if (id === b.workflowId) throw notFound(id);
        sent.push([id, name, arg]);
      },
    }),
  );
  const gone = await run(deliverAdmissions, {
    answers: [
      { request: a, message: queued(a) },
      { request: b, message: queued(b) },
    ],
  });
  expect(gone).toEqual([b.requestId]);
  expect(sent).toEqual([[a.workflowId, 'admission', queued(a)]]);
});

test('any other failure to deliver goes to the retry policy unchanged', async () => {
  const unavailable = Object.assign(new Error('14 UNAVAILABLE'), { code: 14 });
  const { deliverAdmissions, releaseAdmission } = entityActivities(
    loadConfig({ NIU_SANDBOX: 'true' }),
    clientWith({ signal: () => Promise.reject(unavailable) }),
  );
  const a = request('a');
  await expect(run(deliverAdmissions, { answers: [{ request: a, message: queued(a) }] })).rejects.toBe(unavailable);
  await expect(run(releaseAdmission, { requestId: a.requestId, runId: a.runId, lock: true })).rejects.toBe(unavailable);
});

test('a release to an entity that is not running succeeds: it holds nothing', async () => {
  const { releaseAdmission } = entityActivities(
    loadConfig({ NIU_SANDBOX: 'true' }),
    clientWith({ signal: (id) => Promise.reject(notFound(id)) }),
  );
  await expect(run(releaseAdmission, { requestId: 'x', runId: 'y', lock: false })).resolves.toBeUndefined();
});

test('closed runs: ended or unknown ones are closed, running ones are not', async () => {
  const status: Record<string, string> = { running: 'RUNNING', done: 'COMPLETED', killed: 'TERMINATED' };
  const { closedRuns } = entityActivities(
    loadConfig({ NIU_SANDBOX: 'true' }),
    clientWith({
      describe: async (id) => {
        if (!status[id]) throw notFound(id);
        return { status: { name: status[id] } };
      },
    }),
  );
  const runs = ['running', 'done', 'killed', 'unknown'].map((workflowId) => ({ workflowId, runId: 'r' }));
  expect(await run(closedRuns, { runs })).toEqual(['done', 'killed', 'unknown']);
});
