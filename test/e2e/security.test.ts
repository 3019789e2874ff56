// Secrets and personal data end to end, with the worker and the API as real processes (their
// real logs at debug level), payload encryption on (two keys: a current and an older one), and
// the sandbox's Key Vault. One request succeeds (after a transient Graph failure, so a failure
// is recorded in history), one fails for good (UPN taken by someone else). Then:
// - every payload of both raw histories, read with a client that has no codec, carries the
//   codec's encoding, failures included (message "Encoded failure", attributes encrypted);
//   neither the display name nor the password appears anywhere in them, and the UPN only in
//   workflow ids and search attributes;
// - the password is in the vault (tagged with environment and request id), and nowhere in the
//   histories, the worker's or the API's logs, or any API answer;
// - the API's codec endpoint decodes those raw payloads for a reader token.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { SecretClient } from '@azure/keyvault-secrets';
import type { temporal } from '@temporalio/proto';
import { startTestSandbox, sandboxControl, type Sandbox } from '../helpers/sandbox';
import { spawnApi, spawnWorker, killAll, type ApiProcess, type WorkerProcess } from '../helpers/processes';
import { createForeignUser, FAST_TIMING, testTaskQueue } from '../helpers/worker';
import { call, clientCredentialsToken, eventually, idPath } from '../helpers/api';
import { loadConfig, type Config } from '../../config';
import { isEncrypted } from '../../worker/codec';
import { secretNameFor, vaultCredential } from '../../activities/keyvault';
import { createTokenSource } from '../../activities/credential';

jest.setTimeout(180_000);

type Payload = temporal.api.common.v1.IPayload;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

let sandbox: Sandbox;
let worker: WorkerProcess | undefined;
let api: ApiProcess | undefined;
let config: Config;
let raw: Client;
let rawConnection: Connection;
const answers: string[] = [];

const CODEC_KEYS = `current=${randomBytes(32).toString('base64')},older=${randomBytes(32).toString('base64')}`;
const suffix = randomBytes(3).toString('hex');
const good = {
  upn: `svc-sec-${suffix}@contoso.onmicrosoft.com`,
  displayName: `Ωmega Secret-Name ${suffix}`,
};
const taken = {
  upn: `svc-taken-${suffix}@contoso.onmicrosoft.com`,
  displayName: `Taken Secret-Name ${suffix}`,
};

beforeAll(async () => {
  sandbox = await startTestSandbox();
  const control = sandboxControl(sandbox.url);
  await control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
  const taskQueue = testTaskQueue('security');
  const env = {
    CODEC_KEYS,
    KEYVAULT_URL: sandbox.url,
    KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
  };
  config = loadConfig({ ...process.env, NIU_SANDBOX: 'true', SANDBOX_URL: sandbox.url, ...env });
  [worker, api] = await Promise.all([
    spawnWorker({ sandboxUrl: sandbox.url, taskQueue, logLevel: 'DEBUG', env }),
    spawnApi({
      sandboxUrl: sandbox.url,
      taskQueue,
      logLevel: 'debug',
      workflowTiming: FAST_TIMING as Record<string, number>,
      env,
    }),
  ]);
  await worker.ready();
  rawConnection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  raw = new Client({ connection: rawConnection }); // no codec: sees what Temporal stores
});

afterAll(async () => {
  await killAll([api, worker]);
  await rawConnection?.close();
  await sandbox?.close();
});

const operator = () => clientCredentialsToken(sandbox.url, 'operator-client', 'operator-secret');
const reader = () => clientCredentialsToken(sandbox.url, 'reader-client', 'reader-secret');

async function apiCall(method: string, path: string, options: Parameters<typeof call>[3] = {}) {
  const res = await call(api!.url, method, path, options);
  answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${JSON.stringify(res.body)}`);
  return res;
}

async function runToEnd(req: { upn: string; displayName: string }): Promise<Record<string, unknown>> {
  const token = await operator();
  const created = await apiCall('POST', '/v1/non-interactive-users', {
    token,
    body: { environment: 'contoso-prod', userPrincipalName: req.upn, displayName: req.displayName },
  });
  expect(created.status).toBe(202);
  const id = (created.body as { id: string }).id;
  return eventually(async () => {
    const res = await apiCall('GET', idPath(id), { token: await reader() });
    const doc = res.body as Record<string, unknown>;
    return doc.status === 'running' ? undefined : doc;
  }, 90_000);
}

async function rawHistory(workflowId: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await raw.workflowService.getWorkflowExecutionHistory({
      namespace: 'default',
      execution: { workflowId },
      nextPageToken,
    });
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

const isPayload = (v: unknown): v is Payload =>
  !!v && typeof v === 'object' && 'metadata' in v && 'data' in v && (v as Payload).data instanceof Uint8Array;

/** Every payload in the events, with its path; search attributes are left out (indexed in clear by design). */
function payloadsOf(value: unknown, path = '', out: { path: string; payload: Payload }[] = []) {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return out;
  if (isPayload(value)) {
    out.push({ path, payload: value });
    return out;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === 'searchAttributes') continue;
    payloadsOf(child, `${path}/${key}`, out);
  }
  return out;
}

/** Every failure object in the events (objects with a `message` and `failureInfo`-style fields). */
function failuresOf(
  value: unknown,
  path = '',
  out: { path: string; failure: temporal.api.failure.v1.IFailure }[] = [],
) {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return out;
  for (const [key, child] of Object.entries(value)) {
    if (child && typeof child === 'object' && /(^f|F)ailure$/.test(key) && 'message' in child) {
      out.push({ path: `${path}/${key}`, failure: child as temporal.api.failure.v1.IFailure });
    }
    failuresOf(child, `${path}/${key}`, out);
  }
  return out;
}

/** The events as text, bytes decoded as UTF-8, without workflow ids and search attributes. */
function textOf(value: unknown, strip: boolean): string {
  return JSON.stringify(value, function (key, v) {
    if (strip && (key === 'workflowId' || key === 'searchAttributes')) return undefined;
    if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data))
      return Buffer.from(v.data as number[]).toString('utf8');
    if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
    return v;
  });
}

describe('personal data and secrets stay out of Temporal, logs and answers', () => {
  let succeeded: Record<string, unknown>;
  let failed: Record<string, unknown>;
  let password: string;

  beforeAll(async () => {
    // One transient Graph failure on the user creation: its failure is kept in history (lastFailure).
    await sandboxControl(sandbox.url).faults([
      { service: 'graph', method: 'POST', path: '^/v1\\.0/users$', status: 503, rate: 1, count: 1 },
    ]);
    succeeded = await runToEnd(good);
    await sandboxControl(sandbox.url).clearFaults();
    await createForeignUser(config, taken.upn);
    failed = await runToEnd(taken);

    const secrets = new SecretClient(sandbox.url, vaultCredential(createTokenSource(config).credential), {
      disableChallengeResourceVerification: true,
    });
    const secret = await secrets.getSecret(secretNameFor(good.upn));
    password = secret.value!;
    expect(secret.properties.tags).toEqual({ environment: 'contoso-prod', requestId: succeeded.id });
    expect((succeeded.result as { passwordSecretId?: string }).passwordSecretId).toBe(secret.properties.id);
  });

  test('the requests ended as expected, readable through the API (which has the codec)', () => {
    expect(succeeded.status).toBe('succeeded');
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({
      type: 'upn-conflict',
      message: expect.not.stringMatching(/^Encoded failure$/),
    });
    expect(password.length).toBeGreaterThanOrEqual(16);
  });

  test.each([
    ['succeeded', () => good],
    ['failed', () => taken],
  ])('every payload of the %s request’s raw history is encrypted; failures are encoded', async (_name, which) => {
    const { upn, displayName } = which();
    const events = await rawHistory(`niu:contoso-prod:${upn}`);
    expect(events.length).toBeGreaterThan(10);

    const payloads = payloadsOf(events);
    const kinds = new Set(payloads.map((p) => p.path.replace(/^\/\d+\//, '').replace(/\/\d+/g, '')));
    // Input, activity arguments and results, the result or failure, the summary: all there.
    expect(payloads.length).toBeGreaterThan(10);
    // The SDK's core writes some marker details itself, past the data converter: a patch
    // marker's patch id and flag, and a local activity marker's bookkeeping (sequence number,
    // attempt, type, times; its result goes through the converter). Nothing of the request:
    // those are checked to hold exactly that.
    const text = (p: { payload: unknown }): string => {
      const raw = (p.payload as { data?: Uint8Array | string }).data ?? '';
      return typeof raw === 'string' ? Buffer.from(raw, 'base64').toString('utf8') : Buffer.from(raw).toString('utf8');
    };
    const isPatchMarker = (path: string): boolean => /markerRecordedEventAttributes\/details\/patch-data\//.test(path);
    const isLocalActivityMeta = (path: string): boolean => /markerRecordedEventAttributes\/details\/data\//.test(path);
    for (const p of payloads.filter((p) => isPatchMarker(p.path))) {
      expect(JSON.parse(text(p))).toEqual({ id: expect.stringMatching(/^[a-z-]+$/), deprecated: false });
    }
    for (const p of payloads.filter((p) => isLocalActivityMeta(p.path))) {
      const meta = JSON.parse(text(p)) as Record<string, unknown>;
      expect(Object.keys(meta).sort()).toEqual(
        ['activity_id', 'activity_type', 'attempt', 'backoff', 'complete_time', 'original_schedule_time', 'seq'].sort(),
      );
      expect(meta.activity_type).toMatch(/^(requestAdmission|releaseAdmission)$/);
    }
    const plain = payloads
      .filter((p) => !isPatchMarker(p.path) && !isLocalActivityMeta(p.path) && !isEncrypted(p.payload as never))
      .map((p) => p.path);
    expect(plain).toEqual([]);
    expect([...kinds].join(' ')).toMatch(/workflowExecutionStartedEventAttributes\/input\/payloads/);
    expect([...kinds].join(' ')).toMatch(/activityTaskScheduledEventAttributes\/input\/payloads/);
    expect([...kinds].join(' ')).toMatch(/activityTaskCompletedEventAttributes\/result\/payloads/);
    expect([...kinds].join(' ')).toMatch(/userMetadata\/summary/);

    const failures = failuresOf(events);
    expect(failures.length).toBeGreaterThan(0);
    for (const { path, failure } of failures) {
      expect({ path, message: failure.message, stack: failure.stackTrace ?? '' }).toEqual({
        path,
        message: 'Encoded failure',
        stack: '',
      });
      expect(isEncrypted(failure.encodedAttributes as never)).toBe(true);
    }
    if (upn === good.upn) {
      expect(failures.some((f) => f.path.includes('activityTaskStartedEventAttributes/lastFailure'))).toBe(true);
    } else {
      expect(failures.some((f) => f.path.includes('workflowExecutionFailedEventAttributes'))).toBe(true);
    }

    const all = textOf(events, false);
    expect(all).not.toContain(displayName);
    if (upn === good.upn) expect(all).not.toContain(password);
    // The UPN is where operators need it (workflow id, search attributes) and nowhere else.
    expect(all.toLowerCase()).toContain(upn);
    const stripped = textOf(events, true).toLowerCase();
    expect(stripped).not.toContain(upn);
    expect(stripped).not.toContain(upn.split('@')[0]);
  });

  test('the password is nowhere in history, the worker’s and the API’s logs, or any API answer', async () => {
    for (const upn of [good.upn, taken.upn]) {
      expect(textOf(await rawHistory(`niu:contoso-prod:${upn}`), false)).not.toContain(password);
    }
    // The logs are real and verbose (debug): they did record the run.
    expect(worker!.output()).toMatch(/createEntraUser|create-entra-user/);
    expect(api!.output()).toMatch(/non-interactive-users/);
    expect(worker!.output()).not.toContain(password);
    expect(api!.output()).not.toContain(password);
    expect(answers.length).toBeGreaterThan(3);
    expect(answers.join('\n')).not.toContain(password);
    expect(answers.join('\n')).toContain('passwordSecretId'); // the id is there, the value is not
  });

  test('the codec endpoint decodes the raw payloads for a reader; without a token it refuses', async () => {
    const events = await rawHistory(`niu:contoso-prod:${good.upn}`);
    const input = events[0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(input.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(input.data!).toString('base64'),
        },
      ],
    };
    const refused = await apiCall('POST', '/codec/decode', { body });
    expect(refused.status).toBe(401);
    const res = await apiCall('POST', '/codec/decode', { token: await reader(), body });
    expect(res.status).toBe(200);
    const decoded = (res.body as { payloads: { metadata: Record<string, string>; data: string }[] }).payloads[0]!;
    expect(Buffer.from(decoded.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    const value = JSON.parse(Buffer.from(decoded.data, 'base64').toString()) as Record<string, unknown>;
    expect(value).toMatchObject({ userPrincipalName: good.upn, displayName: good.displayName });
  });
});
