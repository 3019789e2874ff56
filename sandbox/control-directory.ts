// The control API's directory settings (control.ts applies them with the rest of a PATCH, all or
// nothing): per client `{"clients": {"<client id>": {permissions, directoryRoles, managementApp, keyVaultAccess}}}`
// and per environment `{"environments": {"<env>": {"securityGroupId": "<group id>" | null}}}`.
// Each validator throws the control API's 400 naming the field and returns what to apply.
import { DIRECTORY_ROLES, clientSettings } from './directory';
import { GRAPH_PERMISSIONS } from './graph-shared';
import { GUID_RE, isObject } from './http';
import { CLIENTS } from './seed';
import type { Store } from './store';
import type { ClientSettings, SandboxData } from './types';

export type Bad = (message: string) => Error;

export const CLIENT_KEYS = ['permissions', 'directoryRoles', 'managementApp', 'keyVaultAccess'];

function names(value: unknown, field: string, known: string[], what: string, bad: Bad): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw bad(`${field} must be a list of ${what} names`);
  }
  const unknown = value.filter((v) => !known.includes(v));
  if (unknown.length) throw bad(`${field}: unknown ${what} '${unknown[0]}' (known: ${known.join(', ')})`);
  return [...new Set(value)];
}

/** `clients`: the new settings of each client named (the others keep theirs). */
export function clientChanges(store: Store, value: unknown, bad: Bad): [string, ClientSettings][] {
  if (!isObject(value)) throw bad("'clients' must be an object keyed by client id");
  return Object.entries(value).map(([clientId, patch]) => {
    if (!CLIENTS.some((c) => c.clientId === clientId)) throw bad(`clients: unknown client '${clientId}'`);
    const field = `clients.${clientId}`;
    if (!isObject(patch)) throw bad(`${field} must be an object`);
    for (const key of Object.keys(patch)) {
      if (!CLIENT_KEYS.includes(key)) throw bad(`${field}.${key} is not a setting`);
    }
    const next = { ...clientSettings(store.data, clientId) };
    if (patch.permissions !== undefined) {
      next.permissions = names(patch.permissions, `${field}.permissions`, GRAPH_PERMISSIONS, 'Graph permission', bad);
    }
    if (patch.directoryRoles !== undefined) {
      const known = Object.keys(DIRECTORY_ROLES);
      next.directoryRoles = names(patch.directoryRoles, `${field}.directoryRoles`, known, 'directory role', bad);
    }
    for (const flag of ['managementApp', 'keyVaultAccess'] as const) {
      const value = patch[flag];
      if (value === undefined) continue;
      if (typeof value !== 'boolean') throw bad(`${field}.${flag} must be true or false`);
      next[flag] = value;
    }
    return [clientId, next];
  });
}

/** `environments.<env>.securityGroupId`: a group of the tenant, or null for none; undefined: unchanged. */
export function securityGroupChange(store: Store, env: string, value: unknown, bad: Bad): string | null | undefined {
  if (value === undefined || value === null) return value;
  const field = `environments.${env}.securityGroupId`;
  if (typeof value !== 'string' || !GUID_RE.test(value)) throw bad(`${field} must be a group id or null`);
  const group = store.data.groups.find((g) => g.id === value.toLowerCase());
  if (!group) throw bad(`${field}: no group '${value}' in the tenant`);
  return group.id;
}

/** Every client's current settings, as `GET /_sandbox/config` shows them. */
export function clientsView(data: SandboxData): Record<string, ClientSettings> {
  return Object.fromEntries(CLIENTS.map((c) => [c.clientId, clientSettings(data, c.clientId)]));
}
