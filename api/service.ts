// What the routes ask of Temporal: start, status, list, cancel, capacity, readiness. Each operation runs
// through the gateway (bounded, 503 when unreachable) and throws HttpProblem for the outcomes
// the contract names (404, 409, 422).
import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { Config, EnvironmentConfig } from '../config';
import {
  RESERVATIONS_QUERY,
  READ_CAPACITY_WORKFLOW_TYPE,
  READINESS_WORKFLOW_TYPE,
  STATUS_QUERY,
  WORKFLOW_TYPE,
  admissionWorkflowId,
  workflowIdFor,
  type CapacityReservations,
  type EnvironmentCapacity,
  type PreflightReport,
  type ProvisionInput,
  type ProvisionTiming,
  type RequestStatus,
  type StatusDocument,
} from '../workflows/types';
import { HttpProblem } from './problem';
import { deprovisionedSince } from './lifecycle-service';
import { runOnWorker, type OnWorkerOptions } from './on-worker';
import { TemporalGateway } from './temporal';
import { buildStatus, parseId, requestStatusOf, type StatusSource } from './status';
import { NIU_ENVIRONMENT, NIU_STEP, NIU_USER_PRINCIPAL_NAME, searchAttributeValue } from './search-attributes';
import { ISO_3166_ALPHA2 } from './iso3166';
import type { CreateRequest, ListItem } from './schemas';

export interface ServiceOptions {
  /** Passed to every workflow as `timing` (tests and demos shorten the waits). */
  workflowTiming?: Partial<ProvisionTiming>;
  /** Bound on reading capacity live through the worker (default 15 s). */
  capacityTimeoutMs?: number;
  /** Bound on the readiness checks through the worker (default 45 s: the checks' own budget is 25 s). */
  readinessTimeoutMs?: number;
  /** Bound on a status query (default 3 s); past it the document comes from describe. */
  queryTimeoutMs?: number;
  /** Told where each status document came from (the API's metrics). */
  onStatusDocument?: (source: StatusSource) => void;
}

const STATUS_FILTERS: Record<RequestStatus, string> = {
  running: "ExecutionStatus = 'Running'",
  succeeded: "ExecutionStatus = 'Completed'",
  failed: "ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')",
  cancelled: "ExecutionStatus = 'Canceled'",
};

export class NonInteractiveUserService {
  constructor(
    private readonly config: Config,
    private readonly temporal: TemporalGateway,
    private readonly options: ServiceOptions = {},
  ) {}

  selfUrl(id: string): string {
    return `${this.config.api.publicUrl}/v1/non-interactive-users/${encodeURIComponent(id)}`;
  }

  links(id: string): { self: string; cancel: string } {
    return { self: this.selfUrl(id), cancel: `${this.selfUrl(id)}/cancel` };
  }

  environment(name: string): EnvironmentConfig | undefined {
    return this.config.environments.find((e) => e.name === name);
  }

  /** Semantic checks (422) and defaults from the environment's configuration. */
  resolveInput(body: CreateRequest): ProvisionInput {
    const env = this.environment(body.environment);
    if (!env) {
      throw new HttpProblem(422, 'unknown-environment', `Unknown environment "${body.environment}".`, {
        errors: [{ pointer: '/body/environment', detail: 'is not a configured environment' }],
      });
    }
    const domain = body.userPrincipalName.split('@')[1]!.toLowerCase();
    if (!env.allowedUpnDomains.includes(domain)) {
      throw new HttpProblem(
        422,
        'domain-not-allowed',
        `The domain "${domain}" is not allowed in environment "${env.name}" (allowed: ${env.allowedUpnDomains.join(', ')}).`,
        { errors: [{ pointer: '/body/userPrincipalName', detail: 'domain is not allowed in this environment' }] },
      );
    }
    const usageLocation = body.usageLocation ?? env.usageLocation;
    if (!ISO_3166_ALPHA2.has(usageLocation)) {
      throw new HttpProblem(422, 'invalid-usage-location', `"${usageLocation}" is not an ISO 3166-1 alpha-2 code.`, {
        errors: [{ pointer: '/body/usageLocation', detail: 'is not an ISO 3166-1 alpha-2 country code' }],
      });
    }
    const input: ProvisionInput = {
      environment: env.name,
      userPrincipalName: body.userPrincipalName,
      displayName: body.displayName.trim(),
      usageLocation,
      licenseSku: body.licenseSku ?? env.licenseSku,
      securityRoles: body.securityRoles ?? env.defaultSecurityRoles,
      requestedAt: new Date().toISOString(),
    };
    const businessUnit = body.businessUnit ?? env.businessUnit;
    if (businessUnit) input.businessUnit = businessUnit;
    if (this.options.workflowTiming) input.timing = this.options.workflowTiming;
    return input;
  }

  /**
   * Starts the workflow. Returns `created: false` when the same request is already running.
   * Workflow id reuse: a previous run that failed, was cancelled or terminated may be replaced
   * (ALLOW_DUPLICATE_FAILED_ONLY); one that succeeded makes this a 409, unless the user was
   * deprovisioned since.
   */
  async create(body: CreateRequest): Promise<{ id: string; created: boolean }> {
    const input = this.resolveInput(body);
    const id = workflowIdFor(input.environment, input.userPrincipalName);
    return this.temporal.run(async (client) => {
      try {
        await this.start(client, id, input, 'ALLOW_DUPLICATE_FAILED_ONLY');
        return { id, created: true };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      const description = await client.workflow.getHandle(id).describe();
      if (description.status.name === 'RUNNING') return { id, created: false };
      // Deprovisioned since it completed: the user may be provisioned again (a new run).
      if (description.status.name === 'COMPLETED' && !(await deprovisionedSince(client, description))) {
        // A run completes only when the user is provisioned (every failure ends it failed).
        throw new HttpProblem(
          409,
          'already-provisioned',
          `${input.userPrincipalName} is already provisioned in ${input.environment}.`,
          { id, links: { self: this.selfUrl(id) } },
        );
      }
      // The earlier run failed, was cancelled, was deprovisioned since, or closed between our
      // start and describe: start a new run.
      try {
        await this.start(client, id, input, 'ALLOW_DUPLICATE');
        return { id, created: true };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { id, created: false };
        throw err;
      }
    });
  }

  private async start(
    client: Client,
    id: string,
    input: ProvisionInput,
    reuse: 'ALLOW_DUPLICATE' | 'ALLOW_DUPLICATE_FAILED_ONLY',
  ): Promise<void> {
    await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: this.config.temporal.taskQueue,
      workflowId: id,
      args: [input],
      workflowIdReusePolicy: reuse,
      workflowIdConflictPolicy: 'FAIL',
      typedSearchAttributes: [
        { key: NIU_ENVIRONMENT, value: input.environment },
        { key: NIU_USER_PRINCIPAL_NAME, value: input.userPrincipalName.toLowerCase() },
        { key: NIU_STEP, value: 'reserve-capacity' },
      ],
      staticSummary: `Provision non-interactive user ${input.userPrincipalName} in ${input.environment}`,
    });
  }

  private async describe(client: Client, id: string): Promise<WorkflowExecutionDescription> {
    try {
      const description = await client.workflow.getHandle(id).describe();
      if (description.type !== WORKFLOW_TYPE) throw new WorkflowNotFoundError('not a request', id, undefined);
      return description;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        throw new HttpProblem(404, 'not-found', 'No request with this id.');
      }
      throw err;
    }
  }

  async status(id: string): Promise<StatusDocument> {
    if (!parseId(id)) throw new HttpProblem(404, 'not-found', 'No request with this id.');
    const description = await this.temporal.run((client) => this.describe(client, id));
    const queryTimeout = this.options.queryTimeoutMs ?? 3000;
    // Both pinned to the described run: after an operator's reset, the new run is read.
    const { document, source } = await buildStatus(
      description,
      () =>
        this.temporal
          .run(
            (client) => client.workflow.getHandle(id, description.runId).query<StatusDocument>(STATUS_QUERY),
            queryTimeout,
          )
          .catch(() => null),
      () =>
        this.temporal
          .run((client) =>
            client.workflow
              .getHandle(id, description.runId)
              .result()
              .then(
                (value) => ({ ok: true as const, value }),
                (error: unknown) => ({ ok: false as const, error }),
              ),
          )
          .catch(() => null),
    );
    this.options.onStatusDocument?.(source);
    return document;
  }

  async list(query: {
    environment?: string;
    status?: RequestStatus;
    pageSize?: number;
    pageToken?: string;
  }): Promise<{ items: ListItem[]; nextPageToken: string | null }> {
    if (query.environment && !this.environment(query.environment)) {
      throw new HttpProblem(422, 'unknown-environment', `Unknown environment "${query.environment}".`, {
        errors: [{ pointer: '/querystring/environment', detail: 'is not a configured environment' }],
      });
    }
    // Values are schema-checked (pattern / enum) before they reach this query string.
    const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`];
    if (query.environment) clauses.push(`NiuEnvironment = '${query.environment}'`);
    if (query.status) clauses.push(STATUS_FILTERS[query.status]);
    return this.temporal.run(async (client) => {
      const temporalQuery = clauses.join(' AND ');
      const response = await client.workflowService.listWorkflowExecutions({
        namespace: this.temporal.namespace,
        query: temporalQuery,
        pageSize: query.pageSize ?? 20,
        nextPageToken: query.pageToken ? openPageToken(query.pageToken, temporalQuery) : undefined,
      });
      const items: ListItem[] = [];
      for (const raw of response.executions ?? []) {
        const info = await executionInfoFromRaw(raw, client.options.loadedDataConverter, raw, this.temporal.namespace);
        const parsed = parseId(info.workflowId);
        items.push({
          id: info.workflowId,
          environment: searchAttributeValue(info.typedSearchAttributes, 'NiuEnvironment') ?? parsed?.environment ?? '',
          userPrincipalName:
            searchAttributeValue(info.typedSearchAttributes, 'NiuUserPrincipalName') ?? parsed?.userPrincipalName ?? '',
          status: requestStatusOf(info.status.name),
          currentStep: searchAttributeValue(info.typedSearchAttributes, 'NiuStep') ?? null,
          createdAt: info.startTime.toISOString(),
          closedAt: info.closeTime ? info.closeTime.toISOString() : null,
          links: { self: this.selfUrl(info.workflowId) },
        });
      }
      const token = response.nextPageToken;
      return { items, nextPageToken: token && token.length > 0 ? sealPageToken(token, temporalQuery) : null };
    });
  }

  async cancel(id: string): Promise<void> {
    if (!parseId(id)) throw new HttpProblem(404, 'not-found', 'No request with this id.');
    await this.temporal.run(async (client) => {
      const description = await this.describe(client, id);
      if (description.status.name !== 'RUNNING') {
        throw new HttpProblem(
          409,
          'already-closed',
          `The request has already ended (${requestStatusOf(description.status.name)}).`,
        );
      }
      await client.workflow.getHandle(id, description.runId).cancel();
    });
  }

  /** 404 for an environment the API does not know. */
  knownEnvironment(environment: string): void {
    if (!this.environment(environment))
      throw new HttpProblem(404, 'not-found', `Unknown environment "${environment}".`);
  }

  private onWorker<T>(workflowType: string, environment: string, options: OnWorkerOptions): Promise<T> {
    return runOnWorker<T>(this.temporal, this.config.temporal.taskQueue, workflowType, environment, options);
  }

  /** The preflight checks of one environment, run on a worker (activities/preflight.ts). */
  async readiness(environment: string): Promise<PreflightReport> {
    this.knownEnvironment(environment);
    return this.onWorker<PreflightReport>(READINESS_WORKFLOW_TYPE, environment, {
      idPrefix: 'niu-readiness',
      timeoutMs: this.options.readinessTimeoutMs ?? 45_000,
      slug: 'readiness-unavailable',
      failed: 'The readiness checks could not be run on a worker',
      summary: `Check the prerequisites of ${environment}`,
    });
  }

  async capacity(environment: string): Promise<{ limit: number; used: number; reserved: number; available: number }> {
    this.knownEnvironment(environment);
    const live = await this.onWorker<EnvironmentCapacity>(READ_CAPACITY_WORKFLOW_TYPE, environment, {
      idPrefix: 'niu-capacity-read',
      timeoutMs: this.options.capacityTimeoutMs ?? 15_000,
      slug: 'capacity-unavailable',
      failed: 'The capacity could not be read',
      summary: `Read non-interactive user capacity of ${environment}`,
    });
    const reserved = await this.temporal.run(async (client) => {
      // The admission entity holds every environment's slots.
      const handle = client.workflow.getHandle(admissionWorkflowId(this.config.temporal.taskQueue));
      try {
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING') return 0;
        const reservations = await handle.query<CapacityReservations, [string]>(RESERVATIONS_QUERY, environment);
        return reservations.reserved;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return 0;
        throw err;
      }
    });
    const limit = live.limit;
    const used = live.used;
    return { limit, used, reserved, available: Math.max(0, limit - used - reserved) };
  }
}

// Page tokens: Temporal's opaque token, prefixed with a checksum of it and of the query it
// belongs to. Temporal answers a malformed token with an error its client retries until the
// deadline (a 503 for what is the caller's mistake); the checksum turns a garbled token, or a
// token reused with other filters, into a 400 at once. Not a secret: any API replica accepts it.
function pageTokenChecksum(token: Uint8Array, query: string): Buffer {
  return createHash('sha256').update(query).update('\0').update(token).digest().subarray(0, 12);
}

function sealPageToken(token: Uint8Array, query: string): string {
  return Buffer.concat([pageTokenChecksum(token, query), token]).toString('base64url');
}

function openPageToken(sealed: string, query: string): Buffer {
  const raw = Buffer.from(sealed, 'base64url');
  const token = raw.subarray(12);
  if (raw.length <= 12 || !pageTokenChecksum(token, query).equals(raw.subarray(0, 12))) {
    throw new HttpProblem(400, 'invalid-request', 'The page token is not valid for this query.', {
      errors: [{ pointer: '/querystring/pageToken', detail: 'is not a page token of this query' }],
    });
  }
  return token;
}
