// The API's /metrics after a real provisioning run through the stack: request durations per
// route pattern and status, and workflow starts by outcome. (The worker's SDK metrics from the
// Temporal runtime's Prometheus endpoint are checked on a real worker process in
// test/integration/workflow-failures.test.ts.)
import { call, eventually, idPath } from '../helpers/api';
import { useStack } from '../helpers/lifecycle';

const stack = useStack({ name: 'metrics' });

/** The value of one series in Prometheus text format, or undefined when it is absent. */
function series(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const found = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** POSTs a request for a fresh UPN (202): its token, UPN, body and id. */
async function newRequest(label: string) {
  const token = await stack.operatorToken();
  const upn = `svc-${label}-${Date.now().toString(36)}@contoso.onmicrosoft.com`;
  const body = { environment: 'contoso-prod', userPrincipalName: upn, displayName: `${label} check` };
  const created = await call<{ id: string }>(stack.apiUrl, 'POST', '/v1/non-interactive-users', { token, body });
  expect(created.status).toBe(202);
  return { token, upn, body, id: created.body.id };
}

/** Reads the request's status through the API until it has succeeded. */
async function untilSucceeded(id: string, token: string): Promise<void> {
  await eventually(async () => {
    const res = await call<{ status: string }>(stack.apiUrl, 'GET', idPath(id), { token });
    return res.body.status === 'succeeded' ? true : undefined;
  }, 90_000);
}

test('after a real request, /metrics counts the start by outcome and times each route pattern', async () => {
  const { token, upn, body, id } = await newRequest('metrics');
  const again = await call(stack.apiUrl, 'POST', '/v1/non-interactive-users', { token, body });
  expect(again.status).toBe(200);
  await untilSucceeded(id, token);
  const invalid = await call(stack.apiUrl, 'POST', '/v1/non-interactive-users', {
    token,
    body: { ...body, environment: 'nowhere' },
  });
  expect(invalid.status).toBe(422);

  const res = await fetch(`${stack.apiUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await res.text();

  const starts = 'niu_api_workflow_starts_total';
  expect(series(text, starts, { environment: 'contoso-prod', outcome: 'started' })).toBe(1);
  expect(series(text, starts, { environment: 'contoso-prod', outcome: 'already-running' })).toBe(1);
  expect(series(text, starts, { environment: 'n/a', outcome: 'invalid' })).toBe(1);

  const duration = 'niu_api_http_request_duration_seconds_count';
  expect(series(text, duration, { method: 'POST', route: '/v1/non-interactive-users', status_code: '202' })).toBe(1);
  expect(
    series(text, duration, { method: 'GET', route: '/v1/non-interactive-users/:id', status_code: '200' }),
  ).toBeGreaterThanOrEqual(1);
  // Route patterns only: the UPN (personal data) never becomes a label.
  expect(text).not.toContain(upn);
  expect(text).toMatch(/^niu_api_process_resident_memory_bytes \d+/m);
});

test("a finished request's status is read from its close event, no worker asked; after a reset the new run is read", async () => {
  const { token, id } = await newRequest('closed');
  const get = () =>
    call<{ status: string; steps: { name: string; status: string }[] }>(stack.apiUrl, 'GET', idPath(id), { token });
  const sources = async () => {
    const text = await (await fetch(`${stack.apiUrl}/metrics`)).text();
    const of = (source: string) => series(text, 'niu_api_status_documents_total', { source }) ?? 0;
    return { query: of('query'), result: of('result'), server: of('server') };
  };

  // While it runs, every read asks the workflow.
  await untilSucceeded(id, token);
  const before = await sources();
  expect(before.query).toBeGreaterThanOrEqual(1);

  // Finished: the document, steps included, comes from the run's close event. The same as the
  // workflow's own answer to the query (asked here directly), and no read asked it.
  const first = await get();
  const second = await get();
  const client = stack.worker.client;
  const answered = await client.workflow.getHandle(id).query<{ steps: unknown[] }>('status');
  expect(first.body).toMatchObject({ status: 'succeeded', steps: answered.steps });
  expect(second.body).toEqual(first.body);
  expect(await sources()).toEqual({ ...before, result: before.result + 2 });

  // An operator resets the request (a new run from its first workflow task) and terminates it:
  // the new run is read (its termination carries no steps, so the API asks it), not the first.
  const history = await client.workflow.getHandle(id).fetchHistory();
  const firstTask = history.events!.find((e) => e.workflowTaskCompletedEventAttributes)!;
  const { runId } = await client.workflow.getHandle(id).describe();
  await client.workflowService.resetWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId: id, runId },
    reason: 'test: a status read follows the current run',
    workflowTaskFinishEventId: firstTask.eventId,
    requestId: `reset-${Date.now()}`,
  });
  const reset = await client.workflow.getHandle(id).describe();
  expect(reset.runId).not.toBe(runId);
  await client.workflow.getHandle(id, reset.runId).terminate('test: end the reset run');
  const afterReset = await get();
  expect(afterReset.status).toBe(200);
  expect(afterReset.body.status).toBe('failed');
  const after = await sources();
  expect(after.result).toBe(before.result + 2);
  expect(after.query + after.server).toBe(before.query + before.server + 1);
});
