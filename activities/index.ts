// All activities of the worker, built from the configuration. Clients (credential, Graph,
// Temporal) are created once per worker and shared by every activity call.
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import { createDataConverter } from '../worker/codec';
import { createTokenSource } from './credential';
import { createGraphClient, graphActivities } from './graph';
import { ACCESS_MODE, dataverseActivities, type SystemUser } from './dataverse';
import { powerPlatformActivities } from './powerplatform';
import { adminEnvironments } from './admin-environments';
import { createPasswordStore } from './keyvault';
import { entityActivities } from './entities';
import { awaitSyncActivities } from './await-sync';
import { securityGroupActivities } from './security-group';
import { preflightActivities } from './preflight';
import { accountLifecycleActivities } from './account-lifecycle';
import { auditActivities } from './audit';

export interface ActivityDeps {
  /** Temporal client for the entity activities; connected lazily from config.temporal when absent. */
  client?: Client;
}

export function createActivities(config: Config, deps: ActivityDeps = {}) {
  const tokens = createTokenSource(config);
  const graph = createGraphClient(config, tokens);
  let client: Promise<Client> | undefined = deps.client ? Promise.resolve(deps.client) : undefined;
  const getClient = (): Promise<Client> => {
    client ??= Connection.connect({ address: config.temporal.address }).then(
      (connection) =>
        new Client({ connection, namespace: config.temporal.namespace, dataConverter: createDataConverter(config) }),
    );
    return client;
  };
  const dataverse = dataverseActivities(config, tokens);
  // What the admin API says of the environments (ids, security groups) is read once per worker.
  const admin = adminEnvironments(config, tokens);
  const powerPlatform = powerPlatformActivities(config, tokens, admin);
  const entities = entityActivities(config, getClient);
  const passwords = createPasswordStore(config, tokens.credential);
  return {
    ...graphActivities(config, graph, passwords),
    ...accountLifecycleActivities(config, graph, passwords, dataverse),
    ...dataverse,
    ...powerPlatform,
    ...securityGroupActivities(config, graph, admin),
    ...awaitSyncActivities({ addUser: powerPlatform.addUser, findSystemUser: dataverse.findSystemUser }),
    ...entities,
    // The readiness checks sign in afresh on each run (activities/preflight-run.ts), sharing nothing.
    ...preflightActivities(config),
    ...auditActivities(config, { tokens, graph, dataverse, client: getClient }),
    /**
     * Dataverse's PATCH of the access mode; with `releaseSlot`, once the mode is 4 (Dataverse
     * counts the user from then on) the run's slot goes back to the admission entity in the same
     * activity: sent by the workflow, the release would be a local activity holding back the next
     * step's scheduling until answered (a tenth of a second and more under load). A retry
     * patches again and releases again; both are idempotent.
     */
    async setAccessMode(input: SetAccessModeInput): Promise<SystemUser> {
      const user = await dataverse.setAccessMode(input);
      if (input.releaseSlot && user.accessMode === ACCESS_MODE.nonInteractive) {
        await entities.releaseAdmission({ ...input.releaseSlot, lock: false });
      }
      return user;
    },
  };
}

export interface SetAccessModeInput {
  environment: string;
  systemUserId: string;
  accessMode: number;
  /** The run whose capacity slot to give back once the mode is non-interactive. */
  releaseSlot?: { requestId: string; runId: string };
}

export type Activities = ReturnType<typeof createActivities>;
