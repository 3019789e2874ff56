// The environment's security group: an environment restricted to one takes only its members,
// through addUser and through the background sync. The account joins the group at the start of
// await-dataverse-user, and compensation makes it leave only if this run made it join: two
// environments may share a group, and another request's account may rely on its membership.
// Graph `POST /groups/{id}/members/$ref` and `DELETE /groups/{id}/members/{user}/$ref`
// (application permission GroupMember.ReadWrite.All).
import type { Client } from '@microsoft/microsoft-graph-client';
import type { Config } from '../config';
import type { AdminEnvironments } from './admin-environments';
import { fromGraphError } from './errors';

export interface JoinSecurityGroupInput {
  environment: string;
  entraObjectId: string;
  /** This run created the account: then any membership of it is this run's doing. */
  accountCreated: boolean;
}

export interface JoinSecurityGroupResult {
  /** The environment's group; null: it is not restricted to one (nothing to join). */
  groupId: string | null;
  /** This run made the account a member (only then does compensation remove it). */
  joined: boolean;
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number }).statusCode;

export function securityGroupActivities(config: Config, graph: Client, admin: AdminEnvironments) {
  const directoryObject = (id: string) =>
    `${config.microsoft.graphBaseUrl.replace(/\/+$/, '')}/v1.0/directoryObjects/${encodeURIComponent(id)}`;
  return {
    async joinSecurityGroup(input: JoinSecurityGroupInput): Promise<JoinSecurityGroupResult> {
      const groupId = await admin.securityGroupId(input.environment);
      if (!groupId) return { groupId: null, joined: false };
      try {
        await graph
          .api(`/groups/${encodeURIComponent(groupId)}/members/$ref`)
          .post({ '@odata.id': directoryObject(input.entraObjectId) });
        return { groupId, joined: true };
      } catch (err) {
        // Already a member: the state the sync needs. Ours to undo only if this run created the
        // account (an earlier attempt whose answer was lost joined it); otherwise another request
        // made it a member, maybe for another environment with the same group.
        if (/added object references already exist/i.test((err as Error).message)) {
          return { groupId, joined: input.accountCreated };
        }
        throw fromGraphError(err) ?? err;
      }
    },

    /** Compensation only: the account leaves the group this run made it join. */
    async leaveSecurityGroup(input: { groupId: string; entraObjectId: string }): Promise<{ left: boolean }> {
      try {
        await graph
          .api(`/groups/${encodeURIComponent(input.groupId)}/members/${encodeURIComponent(input.entraObjectId)}/$ref`)
          .delete();
        return { left: true };
      } catch (err) {
        // Not a member (any more), or the account is gone: nothing to undo.
        if (statusOf(err) === 404) return { left: false };
        throw fromGraphError(err) ?? err;
      }
    },
  };
}
