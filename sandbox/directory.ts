// What the emulated tenant grants each app registration beyond its secret: Microsoft Graph
// application permissions, Entra directory roles, the Power Platform management-application
// registration and access to the vault's secrets (types.ts ClientSettings, changed through the
// control API's `clients`). Entra writes the first two into the access tokens it issues (`roles`,
// `wids`), so a change reaches only tokens issued after it; the registration and the vault access
// are looked up by the admin API and Key Vault on every call.
import { GRAPH_AUDIENCE, seedClientSettings } from './seed';
import type { Client, ClientSettings, SandboxData } from './types';

/**
 * Directory roles the sandbox knows, by display name -> role template id, as listed in
 * "Microsoft Entra built-in roles" (learn.microsoft.com, entra/identity/role-based-access-control/
 * permissions-reference). The template id is what a token's `wids` claim carries.
 */
export const DIRECTORY_ROLES: Record<string, string> = {
  'Global Administrator': '62e90394-69f5-4237-9190-012177145e10',
  'Privileged Authentication Administrator': '7be44c8a-adaf-4e2a-84d6-ab2649e08a13',
  'Privileged Role Administrator': 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  'User Administrator': 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  'Authentication Administrator': 'c4e39bd9-1100-46d3-8c65-fb160da0071f',
  'Helpdesk Administrator': '729827e3-9c14-49f7-bb1b-9608f156bbb8',
  'Password Administrator': '966707d0-3269-4727-9be2-8c3a10f19b9d',
  'Groups Administrator': 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
  'License Administrator': '4d6ac14f-3453-41d0-bef9-a3e0c569773a',
  'Directory Readers': '88d8e3e3-8f55-4a1e-953a-9b9898b8876b',
  'Directory Writers': '9360feb5-f418-4baa-8175-e2a00bac4301',
  'Global Reader': 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
  'Power Platform Administrator': '11648597-926c-4cf3-9c36-bcebb0ba8dcc',
  'Dynamics 365 Administrator': '44367163-eba1-44c3-98af-f5787879f96a',
};

/**
 * The template id every app-only token from Entra carries in `wids`, whatever roles the service
 * principal holds (seen in real tokens, e.g. microsoftgraph/msgraph-sdk-powershell issue 1782).
 */
export const SERVICE_PRINCIPAL_WID = '0997a1d0-0d1d-4acb-b408-d5ca73121e90';

const NO_SETTINGS: ClientSettings = {
  permissions: [],
  directoryRoles: [],
  managementApp: false,
  keyVaultAccess: false,
};

/** A client's current settings (state saved before they existed, or before one of them did, falls back to the seed's). */
export function clientSettings(data: SandboxData, clientId: string): ClientSettings {
  return { ...(seedClientSettings()[clientId] ?? NO_SETTINGS), ...data.clients?.[clientId] };
}

/**
 * The registration as a token is issued for it now: its Graph `roles` are its current Graph
 * permissions, and the extra claims carry its directory roles (`wids`) as Entra writes them.
 */
export function asIssued(client: Client, data: SandboxData): { client: Client; claims: Record<string, unknown> } {
  const settings = clientSettings(data, client.clientId);
  const wids = settings.directoryRoles.map((name) => DIRECTORY_ROLES[name]!).filter(Boolean);
  return {
    client: { ...client, roles: { ...client.roles, [GRAPH_AUDIENCE]: settings.permissions } },
    claims: { wids: [...wids, SERVICE_PRINCIPAL_WID] },
  };
}
