// Starts an in-process worker for a test file: the dev server of the jest run
// (TEMPORAL_ADDRESS), the workflow bundle built once in global setup, a configuration pointing
// at the given sandbox, and a task queue of its own so parallel test files never take each
// other's tasks (entity workflows are per queue too, see workflows/types.ts).
import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../../config';
import { createWorker } from '../../worker/worker';
import { createDataConverter } from '../../worker/codec';
import type { WorkflowHandle } from '@temporalio/client';
import type { ProvisionInput, StatusDocument, StepName } from '../../workflows/types';
import { workflowIdFor, WORKFLOW_TYPE } from '../../workflows/types';
import { DEPROVISION_WORKFLOW_TYPE, deprovisionWorkflowIdFor } from '../../workflows/lifecycle-types';
import { NiuEnvironment, NiuStep, NiuUserPrincipalName } from '../../workflows/definitions';
import type { Role, SystemUser } from '../../sandbox/types';
import type { User as GraphUser } from '@microsoft/microsoft-graph-types';
import { createGraphClient } from '../../activities/graph';
import { createTokenSource } from '../../activities/credential';

export interface TestWorker {
  config: Config;
  client: Client;
  worker: Worker;
  taskQueue: string;
  /** Stops the worker (waits for it) and closes its connection. */
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** Quiet SDK logs in tests (errors only; failed attempts are expected here), unless NIU_TEST_LOG_LEVEL says otherwise. */
export function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger((process.env.NIU_TEST_LOG_LEVEL as 'ERROR') ?? 'ERROR') });
  } catch {
    // Already installed by another helper in this jest worker.
  }
}

export async function startTestWorker(options: {
  sandboxUrl: string;
  taskQueue: string;
  env?: Record<string, string>;
}): Promise<TestWorker> {
  const address = process.env.TEMPORAL_ADDRESS;
  const bundle = process.env.NIU_TEST_WORKFLOW_BUNDLE;
  if (!address || !bundle)
    throw new Error('TEMPORAL_ADDRESS / NIU_TEST_WORKFLOW_BUNDLE not set: run through scripts/test.sh');
  installRuntime();
  const config = loadConfig({
    ...process.env,
    NIU_SANDBOX: 'true',
    SANDBOX_URL: options.sandboxUrl,
    TEMPORAL_TASK_QUEUE: options.taskQueue,
    WORKER_SHUTDOWN_GRACE_MS: '2000',
    ...options.env,
  });
  const connection = await NativeConnection.connect({ address });
  const { worker, shutdown } = await createWorker(config, { connection, workflowBundle: { codePath: bundle } });
  const running = worker.run();
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: createDataConverter(config),
  });
  let stopped = false;
  return {
    config,
    client,
    worker,
    taskQueue: options.taskQueue,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (worker.getState() === 'RUNNING') shutdown();
      await running.catch(() => undefined);
      await connection.close();
    },
  };
}

/** A task queue name unique to the calling test file and process. */
export function testTaskQueue(name: string): string {
  return `niu-test-${name}-${process.pid}-${Date.now().toString(36)}`;
}

// ---- driving provisioning requests in tests ----

/** Short timings for tests (the sandbox's syncDelayMs is set small to match). */
export const FAST_TIMING: ProvisionInput['timing'] = {
  syncTimeoutMs: 20_000,
  syncPollInitialMs: 200,
  syncPollMaxMs: 1_000,
  forceSyncWindowMs: 10_000,
  forceSyncIntervalMs: 250,
  verifySettleMs: 300,
  verifyMaxReapply: 2,
  retryMaxIntervalMs: 2_000,
  stepRetryWindowMs: 60_000,
};

/** The sandbox's settings that go with FAST_TIMING: users sync 400 ms after licensing, licenses propagate in 200 ms. */
export const FAST_SYNC = { syncDelayMs: 400, licensePropagationMs: 200 } as const satisfies SandboxConfigPatch;

export function provisionInput(userPrincipalName: string, overrides: Partial<ProvisionInput> = {}): ProvisionInput {
  return {
    environment: 'contoso-prod',
    userPrincipalName,
    displayName: `Integration ${userPrincipalName.split('@')[0]}`,
    usageLocation: 'US',
    licenseSku: 'DYN365_ENTERPRISE_PLAN1',
    securityRoles: [],
    requestedAt: new Date().toISOString(),
    timing: FAST_TIMING,
    ...overrides,
  };
}

/** Starts a request the way the API does (same id, type, search attributes, summary). */
export async function startProvision(
  tw: Pick<TestWorker, 'client' | 'taskQueue'>,
  input: ProvisionInput,
): Promise<WorkflowHandle> {
  return tw.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: tw.taskQueue,
    workflowId: workflowIdFor(input.environment, input.userPrincipalName),
    args: [input],
    typedSearchAttributes: [
      { key: NiuEnvironment, value: input.environment },
      { key: NiuUserPrincipalName, value: input.userPrincipalName.toLowerCase() },
      { key: NiuStep, value: 'reserve-capacity' },
    ],
    staticSummary: `Provision non-interactive user ${input.userPrincipalName} in ${input.environment}`,
  });
}

/** Starts the deprovisioning of a provisioned user as the API does (its id and search attributes). */
export async function startDeprovision(
  tw: Pick<TestWorker, 'client' | 'taskQueue'>,
  who: { environment: string; userPrincipalName: string; entraObjectId: string },
  deleteAccount = false,
): Promise<WorkflowHandle> {
  return tw.client.workflow.start(DEPROVISION_WORKFLOW_TYPE, {
    taskQueue: tw.taskQueue,
    workflowId: deprovisionWorkflowIdFor(who.environment, who.userPrincipalName),
    args: [{ ...who, deleteAccount, timing: FAST_TIMING }],
    typedSearchAttributes: [
      { key: NiuEnvironment, value: who.environment },
      { key: NiuUserPrincipalName, value: who.userPrincipalName.toLowerCase() },
    ],
  });
}

export async function statusOf(handle: WorkflowHandle): Promise<StatusDocument> {
  return handle.query<StatusDocument>('status');
}

/** Polls the status query until `predicate` holds (or fails the test after `timeoutMs`). */
export async function waitForStatus(
  handle: WorkflowHandle,
  predicate: (doc: StatusDocument) => boolean,
  timeoutMs = 30_000,
): Promise<StatusDocument> {
  const until = Date.now() + timeoutMs;
  let last: StatusDocument | undefined;
  for (;;) {
    try {
      last = await statusOf(handle);
      if (predicate(last)) return last;
    } catch {
      // Not yet queryable (first workflow task pending).
    }
    if (Date.now() > until) {
      throw new Error(`status condition not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function stepStatus(doc: StatusDocument, name: StepName): string {
  return doc.steps.find((s) => s.name === name)!.status;
}

/** The failure type a failed workflow ended with (its ApplicationFailure cause). */
export async function failureTypeOf(handle: WorkflowHandle): Promise<string | null> {
  try {
    await handle.result();
    return null;
  } catch (err) {
    let e = err as { cause?: unknown; type?: string };
    while (e?.cause && !(e as { type?: string }).type) e = e.cause as typeof e;
    return (e as { type?: string }).type ?? null;
  }
}

// ---- the sandbox's control API (sandbox/README.md): one typed client, in ./sandbox ----

export { sandboxControl } from './sandbox';
import type { SandboxConfigPatch, SandboxStateDoc } from './sandbox';

/** Reads the sandbox's state document (GET /_sandbox/state, sandbox/control.ts stateView). */
export function sandboxView(state: SandboxStateDoc) {
  type User = GraphUser & { id: string; userPrincipalName: string };
  const data = state as unknown as {
    users: User[];
    skus: { skuId: string; skuPartNumber: string; seats: number; consumedUnits: number; available: number }[];
    environments: Record<
      string,
      { nonInteractiveLimit: number; nonInteractiveUsers: number; roles: Role[]; systemusers: SystemUser[] }
    >;
  };
  const env = (name: string) => data.environments[name]!;
  const named = (upn: string) => data.users.filter((u) => u.userPrincipalName.toLowerCase() === upn.toLowerCase());
  return {
    data,
    user: (upn: string) => named(upn)[0],
    usersNamed: named,
    seatsUsed: (partNumber: string) => data.skus.find((s) => s.skuPartNumber === partNumber)!.consumedUnits,
    systemUser: (environment: string, entraObjectId: string) =>
      env(environment).systemusers.find((s) => s.azureactivedirectoryobjectid === entraObjectId),
    roleNames: (environment: string, roleIds: string[]) =>
      roleIds.map((id) => env(environment).roles.find((r) => r.roleid === id)?.name ?? id),
    /** Enabled, non-application users in mode 4 (what counts toward the limit). */
    nonInteractiveCount: (environment: string) => env(environment).nonInteractiveUsers,
  };
}

/** Creates "someone else's" account straight through Graph (no mark of this service). */
export async function createForeignUser(config: Config, upn: string): Promise<string> {
  const graph = createGraphClient(config, createTokenSource(config));
  const user = (await graph.api('/users').post({
    accountEnabled: true,
    displayName: 'Somebody else',
    userPrincipalName: upn,
    mailNickname: upn.split('@')[0],
    usageLocation: 'US',
    passwordProfile: { password: 'An0ther-Passw0rd!', forceChangePasswordNextSignIn: true },
  })) as { id: string };
  return user.id;
}
