// The drift audit's and the inventory's one read (workflows/audit.ts decides on it, with
// workflows/audit-rules.ts): every non-interactive, non-application user of the environment from
// Dataverse, each joined with its Entra account from Graph, and the users this service
// provisioned (its succeeded requests, from Temporal) with their systemusers read by id, since a
// user whose mode was reverted is no longer in a mode-4 listing.
import type { Client as GraphClient } from '@microsoft/microsoft-graph-client';
import type { SubscribedSku, User } from '@microsoft/microsoft-graph-types';
import type { Client } from '@temporalio/client';
import type { Config } from '../config';
import type { TokenSource } from './credential';
import type { DataverseActivities } from './dataverse';
import { environmentOf } from './environments';
import { ACCOUNT_MARK, readGraphUser } from './graph';
import { requestJson } from './http';
import type { AuditSnapshot, ObservedUser } from '../workflows/audit-types';
import { WORKFLOW_TYPE, workflowIdFor, type ProvisionResult } from '../workflows/types';
import { DEPROVISION_WORKFLOW_TYPE, deprovisionWorkflowIdFor } from '../workflows/lifecycle-types';

const ACCOUNT_FIELDS =
  'id,userPrincipalName,accountEnabled,assignedLicenses,passwordPolicies,lastPasswordChangeDateTime,employeeType,companyName';

const RESULT_READS_AT_ONCE = 8;

interface Row {
  systemuserid: string;
  azureactivedirectoryobjectid: string | null;
  domainname: string;
  accessmode: number;
  isdisabled?: boolean;
}

/** A succeeded provisioning request: what its result says it made. */
interface Provisioned {
  requestId: string;
  systemUserId: string;
  entraObjectId: string;
}

export function auditActivities(
  config: Config,
  deps: { tokens: TokenSource; graph: GraphClient; dataverse: DataverseActivities; client: () => Promise<Client> },
) {
  const { tokens, graph, dataverse } = deps;

  /** Every mode-4 user that is not an application user, following Dataverse's next links. */
  async function listNonInteractive(environment: string): Promise<Row[]> {
    const env = environmentOf(config, environment);
    const token = await tokens.token(env.dataverseUrl);
    const filter = encodeURIComponent('accessmode eq 4 and applicationid eq null');
    let url: string | undefined =
      `${env.dataverseUrl}/api/data/v9.2/systemusers` +
      `?$select=systemuserid,azureactivedirectoryobjectid,domainname,accessmode,isdisabled&$filter=${filter}`;
    const rows: Row[] = [];
    while (url) {
      const { body }: { body: { value: Row[]; '@odata.nextLink'?: string } } = await requestJson({
        service: 'dataverse',
        method: 'GET',
        url,
        token,
        headers: { Prefer: 'odata.maxpagesize=500' },
      });
      rows.push(...body.value);
      url = body['@odata.nextLink'];
    }
    return rows;
  }

  const account = (id: string): Promise<User | null> => readGraphUser(graph, id, ACCOUNT_FIELDS);

  /** This worker's succeeded provisioning requests in the environment, by Entra object id. */
  async function provisioned(environment: string): Promise<Map<string, Provisioned>> {
    const c = await deps.client();
    const query =
      `WorkflowType = '${WORKFLOW_TYPE}' AND NiuEnvironment = '${environment}' AND ` +
      `ExecutionStatus = 'Completed' AND TaskQueue = '${config.temporal.taskQueue}'`;
    const deprovisioned = await deprovisionedAt(c, environment);
    const runs: { workflowId: string; runId: string }[] = [];
    const seen = new Set<string>();
    for await (const run of c.workflow.list({ query })) {
      // A request provisioned again after a deprovisioning has several completed runs, the newest
      // listed first: only that one says what the service holds now (and only its result is read).
      if (seen.has(run.workflowId)) continue;
      seen.add(run.workflowId);
      // A user deprovisioned after this run made it is no longer this service's to audit or repair
      // (setting its mode back to 4 would undo the deprovisioning).
      const upn = run.workflowId.slice(workflowIdFor(environment, '').length);
      const gone = deprovisioned.get(upn);
      if (gone && run.closeTime && gone >= run.closeTime) continue;
      runs.push({ workflowId: run.workflowId, runId: run.runId });
    }
    // Each result is a history read: a few at a time.
    const results: ProvisionResult[] = [];
    for (let i = 0; i < runs.length; i += RESULT_READS_AT_ONCE) {
      const batch = runs.slice(i, i + RESULT_READS_AT_ONCE);
      results.push(
        ...(await Promise.all(
          batch.map((r) => c.workflow.getHandle(r.workflowId, r.runId).result() as Promise<ProvisionResult>),
        )),
      );
    }
    const byAccount = new Map<string, Provisioned>();
    runs.forEach((run, i) => {
      const result = results[i]!;
      // The newest first: an older run of the same account does not replace it.
      if (!byAccount.has(result.entraObjectId)) {
        byAccount.set(result.entraObjectId, {
          requestId: run.workflowId,
          systemUserId: result.systemUserId,
          entraObjectId: result.entraObjectId,
        });
      }
    });
    return byAccount;
  }

  /** When each account's latest succeeded deprovisioning in the environment started, by lower-case UPN. */
  async function deprovisionedAt(c: Client, environment: string): Promise<Map<string, Date>> {
    const query =
      `WorkflowType = '${DEPROVISION_WORKFLOW_TYPE}' AND NiuEnvironment = '${environment}' AND ` +
      `ExecutionStatus = 'Completed' AND TaskQueue = '${config.temporal.taskQueue}'`;
    const at = new Map<string, Date>();
    const prefix = deprovisionWorkflowIdFor(environment, '');
    for await (const run of c.workflow.list({ query })) {
      const upn = run.workflowId.slice(prefix.length);
      const seen = at.get(upn);
      if (!seen || run.startTime > seen) at.set(upn, run.startTime);
    }
    return at;
  }

  return {
    async readAuditSnapshot(input: { environment: string }): Promise<AuditSnapshot> {
      const env = environmentOf(config, input.environment);
      const [rows, made, capacity, skus] = await Promise.all([
        listNonInteractive(env.name),
        provisioned(env.name),
        dataverse.readEnvironmentCapacity({ environment: env.name }),
        graph.api('/subscribedSkus').get() as Promise<{ value: SubscribedSku[] }>,
      ]);
      const skuNames = new Map(skus.value.map((s) => [s.skuId ?? '', s.skuPartNumber ?? s.skuId ?? '']));
      const observe = async (
        row: Row | null,
        mine: Provisioned | undefined,
        entraObjectId: string | null,
      ): Promise<ObservedUser> => {
        const user = entraObjectId ? await account(entraObjectId) : null;
        return {
          systemUserId: row?.systemuserid ?? null,
          entraObjectId,
          userPrincipalName: user?.userPrincipalName ?? row?.domainname ?? entraObjectId ?? '',
          accessMode: row ? row.accessmode : null,
          isDisabled: row?.isdisabled ?? false,
          listed: row !== null && row.accessmode === 4,
          account: user
            ? {
                accountEnabled: user.accountEnabled !== false,
                licenses: (user.assignedLicenses ?? []).map((l) => skuNames.get(l.skuId ?? '') ?? l.skuId ?? ''),
                passwordPolicies: user.passwordPolicies ?? null,
                lastPasswordChangeDateTime: user.lastPasswordChangeDateTime ?? null,
                marked:
                  user.employeeType === ACCOUNT_MARK.employeeType && user.companyName === ACCOUNT_MARK.companyName,
              }
            : null,
          requestId: mine?.requestId ?? null,
        };
      };
      const listedIds = new Set(rows.map((r) => r.systemuserid));
      const users = await Promise.all([
        ...rows.map((r) => {
          const id = r.azureactivedirectoryobjectid?.toLowerCase() ?? null;
          return observe(r, id ? made.get(id) : undefined, id);
        }),
        // This service's users that are not in the listing: their systemuser read by id.
        ...[...made.values()]
          .filter((m) => !listedIds.has(m.systemUserId))
          .map(async (m) => {
            // Gone from Dataverse: nothing to read (the account may still be there).
            const su = await dataverse
              .readSystemUser({ environment: env.name, systemUserId: m.systemUserId })
              .catch((err: unknown) => {
                if ((err as { type?: string }).type === 'not-found') return null;
                throw err;
              });
            const row: Row | null = su
              ? {
                  systemuserid: su.systemUserId,
                  azureactivedirectoryobjectid: m.entraObjectId,
                  domainname: '',
                  accessmode: su.accessMode,
                  isdisabled: su.isDisabled,
                }
              : null;
            return observe(row, m, m.entraObjectId);
          }),
      ]);
      // A managed user whose account and systemuser are both gone has no name left but its request's.
      for (const u of users)
        if (!u.userPrincipalName.includes('@') && u.requestId) u.userPrincipalName = upnOf(u.requestId);
      return {
        environment: env.name,
        readAt: new Date().toISOString(),
        limit: capacity.limit,
        used: capacity.used,
        licenseSku: env.licenseSku,
        repair: env.auditRepair,
        passwordMaxAgeDays: config.audit.passwordMaxAgeDays,
        passwordWarningDays: config.audit.passwordWarningDays,
        rotatePasswordAfterDays: env.rotatePasswordAfterDays,
        users,
      };
    },
  };
}

/** The UPN in a request id (`niu:{environment}:{upn}`, workflows/types.ts workflowIdFor). */
function upnOf(requestId: string): string {
  return requestId.split(':').slice(2).join(':');
}
