// A configured environment as the Power Platform admin API knows it: its id there (for addUser),
// found from its Dataverse URL when the environments file does not give it, and the security
// group the environment is restricted to (only the group's members sync), unless the file names
// one. One instance per worker, shared by its activities:
// - the id, once found, is kept for the worker's lifetime (an environment's id never changes);
// - the group is kept SECURITY_GROUP_TTL_MS: an administrator may restrict an environment, or
//   change its group, at any time, and one read per environment a minute costs nothing.
// Only a registered management application may call the admin API (activities/errors.ts says
// what its refusal becomes).
import type { Config } from '../config';
import type { TokenSource } from './credential';
import { environmentOf } from './environments';
import { failure } from './errors';
import { requestJson } from './http';

export const ADMIN_API_VERSION = '2023-06-01';
export const SECURITY_GROUP_TTL_MS = 60_000;

/** `GET .../scopes/admin/environments[/{id}]`: the fields read here. */
interface AdminEnvironment {
  name: string;
  properties?: { linkedEnvironmentMetadata?: { instanceUrl?: string | null; securityGroupId?: string | null } };
}

/** A URL as the match sees it: case and trailing slashes do not count (the admin API ends `instanceUrl` with one). */
export function sameUrl(a: string, b: string): boolean {
  const norm = (url: string) => url.trim().replace(/\/+$/, '').toLowerCase();
  return norm(a) === norm(b);
}

/**
 * The group of an environment's admin view; absent, empty and the zero GUID all mean none
 * (Microsoft's Terraform provider reads an environment without a group as the zero GUID).
 */
export function securityGroupOf(env: AdminEnvironment): string | null {
  const id = env.properties?.linkedEnvironmentMetadata?.securityGroupId?.trim().toLowerCase();
  return id && !/^[0-]+$/.test(id) ? id : null;
}

export function adminEnvironments(config: Config, tokens: TokenSource) {
  const base = `${config.microsoft.powerPlatformBaseUrl}/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments`;
  const ids = new Map<string, string>();
  const groups = new Map<string, { groupId: string | null; readAt: number }>();

  async function get<T>(path: string): Promise<T> {
    const token = await tokens.token(config.microsoft.powerPlatformAudience);
    const url = `${base}${path}?api-version=${ADMIN_API_VERSION}`;
    return (await requestJson<T>({ service: 'powerplatform', method: 'GET', url, token })).body;
  }
  const remember = (name: string, env: AdminEnvironment) =>
    groups.set(name, { groupId: securityGroupOf(env), readAt: Date.now() });
  const recentGroup = (name: string) => {
    const read = groups.get(name);
    return read && Date.now() - read.readAt < SECURITY_GROUP_TTL_MS ? read : undefined;
  };

  const listEnvironments = async (): Promise<AdminEnvironment[]> =>
    (await get<{ value: AdminEnvironment[] }>('')).value;

  async function environmentId(name: string): Promise<string> {
    const env = environmentOf(config, name);
    if (env.powerPlatformEnvironmentId) return env.powerPlatformEnvironmentId;
    const known = ids.get(name);
    if (known) return known;
    const value = await listEnvironments();
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
    remember(name, match); // the list carries the group too
    return match.name;
  }

  return {
    environmentId,

    /** Every environment the admin API shows this application (the preflight's proof of the registration). */
    listEnvironments,

    /** The environment as the admin API shows it now, read by its id (activities/preflight.ts). */
    async environment(name: string): Promise<{ id: string; securityGroupId: string | null }> {
      const id = await environmentId(name);
      const env = await get<AdminEnvironment>(`/${encodeURIComponent(id)}`);
      remember(name, env);
      return { id, securityGroupId: securityGroupOf(env) };
    },

    /** `.../scopes/admin/environments/{id}` of a configured environment. */
    async environmentUrl(name: string): Promise<string> {
      return `${base}/${encodeURIComponent(await environmentId(name))}`;
    },

    /** The security group new accounts must join for the environment to take them; null: none. */
    async securityGroupId(name: string): Promise<string | null> {
      const configured = environmentOf(config, name).securityGroupId;
      if (configured) return configured;
      const read = recentGroup(name);
      if (read) return read.groupId;
      const id = await environmentId(name);
      const listed = recentGroup(name); // read with the list just now
      if (listed) return listed.groupId;
      remember(name, await get<AdminEnvironment>(`/${encodeURIComponent(id)}`));
      return groups.get(name)!.groupId;
    },

    /** The group read is out of date (addUser named another): the next request reads it again. */
    forgetSecurityGroup(name: string): void {
      groups.delete(name);
    },
  };
}

export type AdminEnvironments = ReturnType<typeof adminEnvironments>;
