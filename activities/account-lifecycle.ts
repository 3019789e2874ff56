// The activities of deprovisioning and password rotation on the Entra account and the vault
// (activities/graph.ts has the provisioning's). Every one changes only an account that carries
// this service's mark (ACCOUNT_MARK), and is idempotent: a retry after a lost answer finds the
// state it wanted and says it changed nothing.
import type { Client } from '@microsoft/microsoft-graph-client';
import type { User } from '@microsoft/microsoft-graph-types';
import type { Config } from '../config';
import { ACCESS_MODE, type DataverseActivities } from './dataverse';
import { failure, fromGraphError } from './errors';
import { isMarked, readGraphUser, statusOf, storedPassword, USER_FIELDS } from './graph';
import { secretNameFor, type PasswordStore } from './keyvault';

export interface AccountInspection {
  /** The Entra account still exists. */
  exists: boolean;
  enabled: boolean;
  /** Other configured environments where the account is an enabled non-interactive user. */
  nonInteractiveElsewhere: string[];
}

export function accountLifecycleActivities(
  config: Config,
  graph: Client,
  passwords: PasswordStore,
  dataverse: DataverseActivities,
) {
  /** The account, if it exists; one without the mark is never changed (`not-managed`). */
  async function managed(entraObjectId: string): Promise<User | null> {
    const user = await readGraphUser(graph, entraObjectId, USER_FIELDS);
    if (user && !isMarked(user)) {
      throw failure('not-managed', `account ${entraObjectId} does not carry this service's mark; it is left untouched`);
    }
    return user;
  }

  async function patch(entraObjectId: string, body: Record<string, unknown>): Promise<void> {
    try {
      await graph.api(`/users/${entraObjectId}`).patch(body);
    } catch (err) {
      throw fromGraphError(err) ?? err;
    }
  }

  return {
    /**
     * What deprovisioning needs to know before it changes anything: whether the account exists
     * and is ours, and where else it is in use. One Entra account serves every environment it
     * was provisioned in; what is done to the account (disabling, deleting, deleting its
     * password) is done only when no other environment still uses it.
     */
    async inspectAccount(input: { environment: string; entraObjectId: string }): Promise<AccountInspection> {
      const user = await managed(input.entraObjectId);
      if (!user) return { exists: false, enabled: false, nonInteractiveElsewhere: [] };
      const elsewhere: string[] = [];
      for (const env of config.environments) {
        if (env.name === input.environment) continue;
        const su = await dataverse.findSystemUser({ environment: env.name, entraObjectId: input.entraObjectId });
        if (su && su.accessMode === ACCESS_MODE.nonInteractive && !su.isDisabled) elsewhere.push(env.name);
      }
      return { exists: true, enabled: user.accountEnabled !== false, nonInteractiveElsewhere: elsewhere };
    },

    /** Sets accountEnabled; `changed` is false when it already was so, or the account is gone. */
    async setAccountEnabled(input: { entraObjectId: string; enabled: boolean }): Promise<{ changed: boolean }> {
      const user = await managed(input.entraObjectId);
      if (!user || (user.accountEnabled !== false) === input.enabled) return { changed: false };
      await patch(input.entraObjectId, { accountEnabled: input.enabled });
      return { changed: true };
    },

    /** Deletes the account (Entra keeps it 30 days among deleted items); only one of ours. */
    async deleteManagedAccount(input: { entraObjectId: string }): Promise<{ deleted: boolean }> {
      const user = await managed(input.entraObjectId);
      if (!user) return { deleted: false };
      try {
        await graph.api(`/users/${input.entraObjectId}`).delete();
      } catch (err) {
        if (statusOf(err) === 404) return { deleted: false };
        throw fromGraphError(err) ?? err;
      }
      return { deleted: true };
    },

    /** Deletes the password's secret (soft delete); `vault` false when none is configured. */
    async deletePasswordSecret(input: { userPrincipalName: string }): Promise<{ vault: boolean; deleted: boolean }> {
      const name = secretNameFor(input.userPrincipalName);
      if (passwords.idOf(name) === null) return { vault: false, deleted: false };
      return { vault: true, deleted: await passwords.remove(name) };
    },

    /**
     * A new password, generated here, stored as a new version of the account's secret, then set
     * on the account: it never leaves this activity. A retry after a lost answer generates and
     * stores another one and sets that: the latest version is always the account's password.
     */
    async rotatePassword(input: {
      environment: string;
      userPrincipalName: string;
      entraObjectId: string;
      requestId: string;
    }): Promise<{ passwordSecretId: string | null }> {
      const user = await managed(input.entraObjectId);
      if (!user) throw failure('not-found', `account ${input.entraObjectId} no longer exists`);
      if (user.accountEnabled === false) {
        throw failure('invalid-request', `account ${input.entraObjectId} is disabled (deprovisioned?)`);
      }
      const { password, secretId } = await storedPassword(passwords, input);
      await patch(input.entraObjectId, { passwordProfile: { password, forceChangePasswordNextSignIn: false } });
      return { passwordSecretId: secretId };
    },
  };
}
