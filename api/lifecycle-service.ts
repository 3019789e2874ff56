// What the lifecycle routes ask of Temporal (api/routes/user-lifecycle.ts): deprovision a
// provisioned user, rotate its password, and their status documents. Like api/service.ts, each
// operation runs through the gateway (bounded, 503 when unreachable) and throws HttpProblem for
// the outcomes the contract names.
//
// A user's state comes from its workflows: provisioned when its provisioning's latest run
// completed and no deprovisioning succeeded since that run closed; deprovisioned when one did.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/common';
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { Config } from '../config';
import {
  STATUS_QUERY,
  WORKFLOW_TYPE,
  type ProvisionResult,
  type ProvisionTiming,
  type StatusDocument,
} from '../workflows/types';
import {
  DEPROVISION_STEP_NAMES,
  DEPROVISION_WORKFLOW_TYPE,
  ROTATE_PASSWORD_WORKFLOW_TYPE,
  ROTATION_STEP_NAMES,
  deprovisionWorkflowIdFor,
  rotationWorkflowIdFor,
  secretNameFor,
  type DeprovisionInput,
  type DeprovisionResult,
  type DeprovisionStatus,
  type RotationInput,
  type RotationStatus,
} from '../workflows/lifecycle-types';
import { HttpProblem } from './problem';
import type { TemporalGateway } from './temporal';
import { buildStatus, parseId, requestStatusOf } from './status';
import { NIU_ENVIRONMENT, NIU_USER_PRINCIPAL_NAME } from './search-attributes';

type Who = { environment: string; userPrincipalName: string };
type Kind = 'deprovisioning' | 'password-rotation';

const NOT_FOUND = (): HttpProblem => new HttpProblem(404, 'not-found', 'No request with this id.');

async function describeOrNull(client: Client, workflowId: string): Promise<WorkflowExecutionDescription | null> {
  try {
    return await client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** A provisioned user's provisioning (its latest run, completed), and its deprovisioning if any since. */
interface UserState {
  who: Who;
  provisioning: WorkflowExecutionDescription;
  /** The deprovisioning started after the provisioning closed (running or closed), if any. */
  deprovisioning: WorkflowExecutionDescription | null;
}

export class UserLifecycleService {
  constructor(
    private readonly config: Config,
    private readonly temporal: TemporalGateway,
    private readonly options: { workflowTiming?: Partial<ProvisionTiming> } = {},
  ) {}

  url(id: string, kind: Kind): string {
    const path = kind === 'deprovisioning' ? 'deprovisioning' : 'password-rotation';
    return `${this.config.api.publicUrl}/v1/non-interactive-users/${encodeURIComponent(id)}/${path}`;
  }

  /** The user's provisioning (404 unknown id) and its deprovisioning since, if any. */
  private async userState(client: Client, id: string): Promise<UserState> {
    const who = parseId(id);
    if (!who) throw NOT_FOUND();
    const provisioning = await describeOrNull(client, id);
    if (!provisioning || provisioning.type !== WORKFLOW_TYPE) throw NOT_FOUND();
    if (provisioning.status.name === 'RUNNING') {
      throw new HttpProblem(
        409,
        'provisioning-running',
        'The user is still being provisioned: cancel the request (POST .../cancel) instead.',
      );
    }
    if (provisioning.status.name !== 'COMPLETED') {
      throw new HttpProblem(
        409,
        'not-provisioned',
        `The user was not provisioned (its request ended ${requestStatusOf(provisioning.status.name)}).`,
      );
    }
    const deprovisioning = await describeOrNull(
      client,
      deprovisionWorkflowIdFor(who.environment, who.userPrincipalName),
    );
    const since = deprovisioning && provisioning.closeTime && deprovisioning.startTime >= provisioning.closeTime;
    return { who, provisioning, deprovisioning: since ? deprovisioning : null };
  }

  /**
   * Starts the user's deprovisioning, or answers with the one that runs (`created` false) or that
   * already succeeded (`done`: nothing left to do; with `deleteAccount`, only if it deleted the
   * account). 404 unknown id, 409 while provisioning runs or when the user was never provisioned.
   */
  async deprovision(id: string, deleteAccount: boolean): Promise<{ created: boolean; done: boolean }> {
    return this.temporal.run(async (client) => {
      const { who, provisioning, deprovisioning } = await this.userState(client, id);
      if (deprovisioning?.status.name === 'RUNNING') return { created: false, done: false };
      if (deprovisioning?.status.name === 'COMPLETED') {
        const earlier = (await client.workflow
          .getHandle(deprovisioning.workflowId, deprovisioning.runId)
          .result()) as DeprovisionResult;
        if (!deleteAccount || earlier.accountDeleted) return { created: false, done: true };
      }
      const input: DeprovisionInput = { ...(await this.inputFor(client, who, provisioning)), deleteAccount };
      const created = await this.start(
        client,
        DEPROVISION_WORKFLOW_TYPE,
        deprovisionWorkflowIdFor(who.environment, who.userPrincipalName),
        input,
        `Deprovision non-interactive user ${who.userPrincipalName} in ${who.environment}`,
      );
      return { created, done: false };
    });
  }

  /**
   * Starts a rotation of the user's password (a repeated request while one runs joins it).
   * Returns the secret's versionless id (its latest version), null without a vault.
   */
  async rotatePassword(id: string): Promise<{ passwordSecretId: string | null }> {
    return this.temporal.run(async (client) => {
      const { who, provisioning, deprovisioning } = await this.userState(client, id);
      // A deprovisioning that failed was undone: the user is provisioned, and may be rotated.
      if (deprovisioning && ['RUNNING', 'COMPLETED'].includes(deprovisioning.status.name)) {
        throw new HttpProblem(409, 'deprovisioned', 'The user is deprovisioned (or being deprovisioned).');
      }
      const input: RotationInput = await this.inputFor(client, who, provisioning);
      await this.start(
        client,
        ROTATE_PASSWORD_WORKFLOW_TYPE,
        rotationWorkflowIdFor(who.environment, who.userPrincipalName),
        input,
        `Rotate the password of ${who.userPrincipalName} in ${who.environment}`,
      );
      const vault = this.config.microsoft.keyVaultUrl;
      return {
        passwordSecretId: vault ? `${vault.replace(/\/+$/, '')}/secrets/${secretNameFor(who.userPrincipalName)}` : null,
      };
    });
  }

  /** What a deprovisioning or rotation of the user starts with: the account as provisioning left it. */
  private async inputFor(client: Client, who: Who, provisioning: WorkflowExecutionDescription): Promise<RotationInput> {
    const provisioned = (await client.workflow
      .getHandle(provisioning.workflowId, provisioning.runId)
      .result()) as ProvisionResult;
    const input: RotationInput = {
      ...who,
      entraObjectId: provisioned.entraObjectId,
      requestedAt: new Date().toISOString(),
    };
    if (this.options.workflowTiming) input.timing = this.options.workflowTiming;
    return input;
  }

  /** Starts a run, or joins the one that runs (false): a closed earlier run is replaced. */
  private async start(client: Client, type: string, workflowId: string, input: Who, summary: string): Promise<boolean> {
    try {
      await client.workflow.start(type, {
        taskQueue: this.config.temporal.taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        workflowIdConflictPolicy: 'FAIL',
        typedSearchAttributes: [
          { key: NIU_ENVIRONMENT, value: input.environment },
          { key: NIU_USER_PRINCIPAL_NAME, value: input.userPrincipalName.toLowerCase() },
        ],
        staticSummary: summary,
      });
      return true;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
      throw err;
    }
  }

  deprovisioningStatus(id: string): Promise<DeprovisionStatus> {
    return this.statusOf(id, 'deprovisioning') as Promise<DeprovisionStatus>;
  }

  rotationStatus(id: string): Promise<RotationStatus> {
    return this.statusOf(id, 'password-rotation') as Promise<RotationStatus>;
  }

  /** The latest run's status document; 404 when the user has none of this kind. */
  private async statusOf(id: string, kind: Kind): Promise<unknown> {
    const who = parseId(id);
    if (!who) throw NOT_FOUND();
    const [workflowId, type, names] =
      kind === 'deprovisioning'
        ? [
            deprovisionWorkflowIdFor(who.environment, who.userPrincipalName),
            DEPROVISION_WORKFLOW_TYPE,
            DEPROVISION_STEP_NAMES,
          ]
        : [
            rotationWorkflowIdFor(who.environment, who.userPrincipalName),
            ROTATE_PASSWORD_WORKFLOW_TYPE,
            ROTATION_STEP_NAMES,
          ];
    const description = await this.temporal.run((client) => describeOrNull(client, workflowId));
    if (!description || description.type !== type) {
      throw new HttpProblem(404, 'not-found', `No ${kind} of this user.`);
    }
    const handle = (client: Client) => client.workflow.getHandle(workflowId, description.runId);
    const { document } = await buildStatus(
      description,
      () => this.temporal.run((client) => handle(client).query<StatusDocument>(STATUS_QUERY), 3000).catch(() => null),
      () =>
        this.temporal
          .run((client) =>
            handle(client)
              .result()
              .then(
                (value) => ({ ok: true as const, value }),
                (error: unknown) => ({ ok: false as const, error }),
              ),
          )
          .catch(() => null),
      { id, names },
    );
    return document;
  }
}

/** Whether a deprovisioning succeeded after this provisioning run closed (then it may run again). */
export async function deprovisionedSince(client: Client, provisioning: WorkflowExecutionDescription): Promise<boolean> {
  const who = parseId(provisioning.workflowId);
  if (!who || !provisioning.closeTime) return false;
  const d = await describeOrNull(client, deprovisionWorkflowIdFor(who.environment, who.userPrincipalName));
  return !!d && d.status.name === 'COMPLETED' && d.startTime >= provisioning.closeTime;
}
