// All activities of the worker, built from the configuration. Clients (credential, Graph,
// Temporal) are created once per worker and shared by every activity call.
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../worker/config';
import { createDataConverter } from '../worker/codec';
import { createTokenSource } from './credential';
import { createGraphClient, graphActivities } from './graph';
import { dataverseActivities } from './dataverse';
import { powerPlatformActivities } from './powerplatform';
import { createPasswordStore } from './keyvault';
import { entityActivities } from './entities';
import { awaitSyncActivities } from './await-sync';

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
  const powerPlatform = powerPlatformActivities(config, tokens);
  return {
    ...graphActivities(config, graph, createPasswordStore(config, tokens.credential)),
    ...dataverse,
    ...powerPlatform,
    ...awaitSyncActivities({ addUser: powerPlatform.addUser, findSystemUser: dataverse.findSystemUser }),
    ...entityActivities(config, getClient),
  };
}

export type Activities = ReturnType<typeof createActivities>;
