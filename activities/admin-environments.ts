// A configured environment as the Power Platform admin API knows it: its id there (for addUser),
// found from its Dataverse URL when the environments file does not give it. One instance per
// worker, shared by its activities: the id, once found, is kept for the worker's lifetime (an
// environment's id never changes). Only a registered management application may call the admin
// API.
import type { Config } from '../config';
import type { TokenSource } from './credential';
import { environmentOf } from './environments';
import { failure } from './errors';
import { requestJson } from './http';

export const ADMIN_API_VERSION = '2023-06-01';

/** `GET .../scopes/admin/environments[/{id}]`: the fields read here. */
interface AdminEnvironment {
  name: string;
  properties?: { linkedEnvironmentMetadata?: { instanceUrl?: string | null } };
}

/** A URL as the match sees it: case and trailing slashes do not count (the admin API ends `instanceUrl` with one). */
export function sameUrl(a: string, b: string): boolean {
  const norm = (url: string) => url.trim().replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}

export function adminEnvironments(config: Config, tokens: TokenSource) {
  const base = `${config.microsoft.powerPlatformBaseUrl}/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments`;
  const ids = new Map<string, string>();

  async function get<T>(path: string): Promise<T> {
    const token = await tokens.token(config.microsoft.powerPlatformAudience);
    const url = `${base}${path}?api-version=${ADMIN_API_VERSION}`;
    return (await requestJson<T>({ service: 'powerplatform', method: 'GET', url, token })).body;
  }

  async function environmentId(name: string): Promise<string> {
    const env = environmentOf(config, name);
    if (env.powerPlatformEnvironmentId) return env.powerPlatformEnvironmentId;
    const known = ids.get(name);
    if (known) return known;
    const { value } = await get<{ value: AdminEnvironment[] }>('');
    const match = value.find((e) =>
      sameUrl(e.properties?.linkedEnvironmentMetadata?.instanceUrl ?? '', env.dataverseUrl),
    );
    if (!match) {
      throw failure(
        'unknown-environment',
        `no Power Platform environment has the Dataverse URL ${env.dataverseUrl} (the admin API lists ${value.length}): ` +
          `correct the dataverseUrl of "${name}" in the environments file, or set its powerPlatformEnvironmentId`,
      );
    }
    ids.set(name, match.name);
    return match.name;
  }

  return {
    environmentId,

    /** `.../scopes/admin/environments/{id}` of a configured environment. */
    async environmentUrl(name: string): Promise<string> {
      return `${base}/${encodeURIComponent(await environmentId(name))}`;
    },
  };
}

export type AdminEnvironments = ReturnType<typeof adminEnvironments>;
