// What the worker's identity needs, as the preflight (activities/preflight.ts) checks it, and the
// fix it names when something is missing. The service's own table, kept apart from the sandbox's
// (which emulates Microsoft and must not be what the service believes).
//
// Graph: each list is the row "Application" of Microsoft's permission table for the call (Graph
// v1.0 reference, least privileged first); a token needs one of them in its `roles`.
// Directory roles: template ids from "Microsoft Entra built-in roles"
// (learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference), as a
// token's `wids` carries them.
import type { CloudName, Config } from '../config';
import { managementAppFix } from './errors';

export interface GraphNeed {
  /** The check's name. */
  name: string;
  /** What the service does with it (for the detail). */
  use: string;
  /** Permissions of which one is enough. */
  anyOf: string[];
  /** The one to grant: the least privileged that serves. */
  grant: string;
}

/** The Graph application permissions the worker needs in every tenant. */
export const GRAPH_NEEDS: GraphNeed[] = [
  {
    name: 'graph-permission-users',
    use: 'create, read and update the accounts, and delete one a failed request created (DELETE /users accepts User.ReadWrite.All only)',
    anyOf: ['User.ReadWrite.All'],
    grant: 'User.ReadWrite.All',
  },
  {
    name: 'graph-permission-license-assignment',
    use: 'assign and remove the Dynamics 365 license (POST /users/{id}/assignLicense)',
    anyOf: ['LicenseAssignment.ReadWrite.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All'],
    grant: 'LicenseAssignment.ReadWrite.All',
  },
  {
    name: 'graph-permission-subscribed-skus',
    use: "read the subscriptions and their free seats (GET /subscribedSkus; LicenseAssignment.ReadWrite.All is not in that call's table)",
    anyOf: [
      'LicenseAssignment.Read.All',
      'Organization.Read.All',
      'Organization.ReadWrite.All',
      'Directory.Read.All',
      'Directory.ReadWrite.All',
    ],
    grant: 'LicenseAssignment.Read.All',
  },
];

/** Adding and removing members of an environment's security group (POST /groups/{id}/members/$ref). */
export const GROUP_MEMBERS_NEED: GraphNeed = {
  name: 'security-group',
  use: "add new accounts to the environment's security group (POST /groups/{id}/members/$ref)",
  anyOf: ['GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'],
  grant: 'GroupMember.ReadWrite.All',
};

/**
 * Directory roles that may set the password of an existing account with application permissions
 * (Graph's update-user: "at least the User Administrator Microsoft Entra role"), by template id.
 */
export const PASSWORD_ROLES: Record<string, string> = {
  'fe930be7-5e62-47db-91af-98c3a49a38b1': 'User Administrator',
  '7be44c8a-adaf-4e2a-84d6-ab2649e08a13': 'Privileged Authentication Administrator',
  '62e90394-69f5-4237-9190-012177145e10': 'Global Administrator',
};
export const USER_ADMINISTRATOR = 'fe930be7-5e62-47db-91af-98c3a49a38b1';

/** The Dataverse privilege to update systemuser rows (Write on User), needed at organization depth. */
export const WRITE_USER_PRIVILEGE = 'prvWriteUser';

/** The secret the Key Vault check writes and reads back (a new version per run; never a password). */
export const KEY_VAULT_PROBE = 'niu-preflight-probe';

/** The admin portals of each cloud (Microsoft's pages for the US Government and 21Vianet clouds). */
const PORTALS: Record<CloudName, { entra: string; powerPlatform: string; azure: string }> = {
  public: {
    entra: 'https://entra.microsoft.com',
    powerPlatform: 'https://admin.powerplatform.microsoft.com',
    azure: 'https://portal.azure.com',
  },
  gcc: {
    entra: 'https://entra.microsoft.com',
    powerPlatform: 'https://gcc.admin.powerplatform.microsoft.us',
    azure: 'https://portal.azure.com',
  },
  usgovernment: {
    entra: 'https://entra.microsoft.us',
    powerPlatform: 'https://high.admin.powerplatform.microsoft.us',
    azure: 'https://portal.azure.us',
  },
  'usgovernment-dod': {
    entra: 'https://entra.microsoft.us',
    powerPlatform: 'https://admin.appsplatform.us',
    azure: 'https://portal.azure.us',
  },
  china: {
    entra: 'https://entra.microsoftonline.cn',
    powerPlatform: 'https://admin.powerplatform.partner.microsoftonline.cn',
    azure: 'https://portal.azure.cn',
  },
};

/** Who the worker is, as the fixes name it: its app (client) id and its service principal's object id. */
export interface Principal {
  appId: string;
  objectId: string;
}

const RENEW =
  'Tokens issued before the change keep the old grants: the worker gets a new one within the hour, or at once on a restart';

/** The fix texts, for the configuration's cloud and the worker's principal. */
export function fixes(config: Config, who: Principal) {
  const portal = PORTALS[config.microsoft.cloud];
  const sp = `the service principal ${who.objectId} (app ${who.appId})`;
  const appUser = (env: string) =>
    `${portal.powerPlatform} → Environments → ${env} → Settings → Users + permissions → Application users`;
  return {
    graphPermission: (permission: string) =>
      `Grant the Microsoft Graph application permission ${permission} to ${sp}, with admin consent: ` +
      `${portal.entra} → App registrations → ${who.appId} → API permissions → Add a permission → Microsoft Graph → ` +
      `Application permissions → ${permission} → Grant admin consent (a managed identity: New-MgServicePrincipalAppRoleAssignment, ` +
      `docs/real-tenant.md). ${RENEW}.`,

    directoryRole: () =>
      `Assign the directory role User Administrator to ${sp}: ${portal.entra} → Roles & admins → User Administrator → ` +
      `Add assignments, or New-MgRoleManagementDirectoryRoleAssignment -PrincipalId ${who.objectId} ` +
      `-RoleDefinitionId ${USER_ADMINISTRATOR} -DirectoryScopeId '/'. ${RENEW}.`,

    managementApp: () =>
      `Register the worker's application ${who.appId} as a Power Platform management application. ${managementAppFix(who.appId)}.`,

    applicationUser: (env: string) =>
      `Create the application user of app ${who.appId} in ${env}: ${appUser(env)} → New app user → the app, its business unit ` +
      `and the security role System Administrator; or pac admin assign-user --environment <environment id or URL> ` +
      `--user ${who.appId} --role "System Administrator" --application-user.`,

    securityRole: (env: string) =>
      `Give the application user of app ${who.appId} in ${env} a security role with Write on User (${WRITE_USER_PRIVILEGE}) at ` +
      `organization level, e.g. System Administrator: ${appUser(env)} → the app → Edit security roles; or pac admin assign-user ` +
      `--environment <environment id or URL> --user ${who.appId} --role "System Administrator" --application-user.`,

    securityGroup: (env: string, configured: boolean) =>
      configured
        ? `Correct securityGroupId of "${env}" in the environments file (ENVIRONMENTS_FILE) to the id of the environment's group, or remove it to use the admin API's.`
        : `Set ${env}'s security group to an existing group: ${portal.powerPlatform} → Environments → ${env} → Edit → Security group.`,

    groupKind: (env: string) =>
      `Restrict ${env} to a security group with assigned membership that is not mail-enabled (Graph cannot add members to ` +
      `a dynamic or mail-enabled group): ${portal.powerPlatform} → Environments → ${env} → Edit → Security group.`,

    keyVault: (vault: string) =>
      `Let ${sp} get and set secrets in ${vault}: ${portal.azure} → the vault → Access control (IAM) → Add role assignment → ` +
      `Key Vault Secrets Officer → the app (az role assignment create --role "Key Vault Secrets Officer" --assignee ${who.appId} ` +
      `--scope <the vault's resource id>); or, with access policies, az keyvault set-policy --name <vault> --spn ${who.appId} ` +
      `--secret-permissions get set.`,
  };
}

export type Fixes = ReturnType<typeof fixes>;
