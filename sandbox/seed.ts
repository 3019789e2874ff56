// The sandbox's default tenant (sandbox/README.md). Ids are fixed (derived from names),
// so a reset or a restart gives the same business units, roles and SKU ids every time.
import { createHash } from 'node:crypto';
import type { Client, ClientSettings, Environment, SandboxData, Settings, Sku } from './types';

export const TENANT_NAME = 'contoso.onmicrosoft.com';
export const TENANT_ID = '6e1f3b5a-7c2d-4e8f-9a0b-1c2d3e4f5a6b';
export const TENANT_DISPLAY_NAME = 'Contoso';
export const VERIFIED_DOMAINS = ['contoso.onmicrosoft.com'];

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';
export const POWERPLATFORM_AUDIENCE = 'https://service.powerapps.com';
export const KEYVAULT_AUDIENCE = 'https://vault.azure.net';
export const API_AUDIENCE = 'api://noninteractive-users';
/** The API's app registration ("noninteractive-users API"): its client id, the `aud` of v2 tokens. */
export const API_CLIENT_ID = '5f3c2a1e-8d4b-4c7a-9e6f-0b1d2c3e4f50';
export const API_APP_NAME = 'noninteractive-users API';
/** The audience Entra expects in a federated token (a federated identity credential's `audiences`). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
/** Subject of the provisioner's seeded federated credential at the sandbox's own issuer. */
export const PROVISIONER_FEDERATED_SUBJECT = 'system:serviceaccount:noninteractive-users:worker';
/** The managed identity endpoint's secret (App Service's IDENTITY_HEADER). */
export const MANAGED_IDENTITY_HEADER = 'sandbox-identity-header';

export const DYNAMICS_SKU_ID = 'ea126fc5-a19e-42e2-a731-da9d437bffcf';
export const DYNAMICS_SKU_PART = 'DYN365_ENTERPRISE_PLAN1';
/** A second SKU that does not grant Dataverse access (Office 365 E3), to tell the two apart. */
export const OFFICE_SKU_ID = '6fd2c87f-b296-42f0-b197-1e91e994b900';
export const OFFICE_SKU_PART = 'ENTERPRISEPACK';

export const ENVIRONMENT_NAMES = ['contoso-prod', 'contoso-test'] as const;
export const ROLE_NAMES = ['Basic User', 'System Administrator', 'Integration User'] as const;
/** A child business unit in each environment, so business-unit moves can be exercised. */
export const CHILD_BUSINESS_UNIT = 'Integrations';
export const SEED_GROUP = 'Dynamics Non-Interactive Users';

/** A stable GUID from a name (SHA-1 based, version 5 layout). */
export function stableGuid(...parts: string[]): string {
  const h = createHash('sha1').update(parts.join('|')).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const CLIENTS: Client[] = [
  {
    clientId: 'provisioner-client',
    secret: 'provisioner-secret',
    displayName: 'noninteractive-users provisioner',
    servicePrincipalId: stableGuid('sp', 'provisioner-client'),
    roles: {
      [GRAPH_AUDIENCE]: [
        'User.ReadWrite.All',
        'LicenseAssignment.ReadWrite.All',
        'GroupMember.ReadWrite.All',
        'LicenseAssignment.Read.All',
      ],
    },
    powerPlatformAdmin: true,
    keyVaultAccess: true,
  },
  {
    clientId: 'operator-client',
    secret: 'operator-secret',
    displayName: 'noninteractive-users operator',
    servicePrincipalId: stableGuid('sp', 'operator-client'),
    roles: { [API_AUDIENCE]: ['NonInteractiveUsers.ReadWrite'] },
    powerPlatformAdmin: false,
    keyVaultAccess: false,
  },
  {
    clientId: 'reader-client',
    secret: 'reader-secret',
    displayName: 'noninteractive-users reader',
    servicePrincipalId: stableGuid('sp', 'reader-client'),
    roles: { [API_AUDIENCE]: ['NonInteractiveUsers.Read'] },
    powerPlatformAdmin: false,
    keyVaultAccess: false,
  },
];

export const DEFAULT_SETTINGS: Settings = {
  syncDelayMs: 5_000,
  licensePropagationMs: 2_000,
  revertWindowMs: 0,
  replicationDelayMs: 0,
  groupPropagationMs: 0,
  tokenLifetimeSeconds: 3_600,
  apiTokenVersion: 1,
};

function seedSkus(): Sku[] {
  return [
    {
      skuId: DYNAMICS_SKU_ID,
      skuPartNumber: DYNAMICS_SKU_PART,
      seats: 25,
      warning: 0,
      grantsDataverse: true,
      servicePlans: [
        {
          servicePlanId: stableGuid('plan', 'DYN365_ENTERPRISE_P1'),
          servicePlanName: 'DYN365_ENTERPRISE_P1',
          provisioningStatus: 'Success',
          appliesTo: 'User',
        },
        {
          servicePlanId: stableGuid('plan', 'CDS_O365_P1'),
          servicePlanName: 'DYN365_CDS_DYN_APPS',
          provisioningStatus: 'Success',
          appliesTo: 'User',
        },
      ],
    },
    {
      skuId: OFFICE_SKU_ID,
      skuPartNumber: OFFICE_SKU_PART,
      seats: 10,
      warning: 0,
      grantsDataverse: false,
      servicePlans: [
        {
          servicePlanId: stableGuid('plan', 'EXCHANGE_S_ENTERPRISE'),
          servicePlanName: 'EXCHANGE_S_ENTERPRISE',
          provisioningStatus: 'Success',
          appliesTo: 'User',
        },
      ],
    },
  ];
}

function seedEnvironment(name: string): Environment {
  const root = { businessunitid: stableGuid(name, 'bu', name), name, _parentbusinessunitid_value: null };
  const child = {
    businessunitid: stableGuid(name, 'bu', CHILD_BUSINESS_UNIT),
    name: CHILD_BUSINESS_UNIT,
    _parentbusinessunitid_value: root.businessunitid,
  };
  // Dataverse copies every role into every business unit (same template, different roleid).
  const roles = [root, child].flatMap((bu) =>
    ROLE_NAMES.map((role) => ({
      roleid: stableGuid(name, 'role', bu.name, role),
      name: role,
      _businessunitid_value: bu.businessunitid,
      roletemplateid: stableGuid('roletemplate', role),
      ismanaged: true,
    })),
  );
  const provisioner = CLIENTS[0]!;
  const now = new Date(0).toISOString();
  const adminRole = roles.find(
    (r) => r.name === 'System Administrator' && r._businessunitid_value === root.businessunitid,
  )!;
  return {
    name,
    organizationId: stableGuid(name, 'organization'),
    nonInteractiveLimit: 7,
    securityGroupId: null,
    businessUnits: [root, child],
    roles,
    systemUsers: [
      {
        // The provisioner's application user: mode 4 like every application user, but it does
        // not count toward the non-interactive limit and its mode cannot be changed.
        systemuserid: stableGuid(name, 'systemuser', provisioner.clientId),
        azureactivedirectoryobjectid: provisioner.servicePrincipalId,
        applicationid: provisioner.clientId,
        domainname: `${provisioner.clientId}@${TENANT_NAME}`,
        fullname: `# ${provisioner.displayName}`,
        internalemailaddress: null,
        accessmode: 4,
        isdisabled: false,
        islicensed: false,
        _businessunitid_value: root.businessunitid,
        createdon: now,
        modifiedon: now,
        versionnumber: 1,
        roles: [adminRole.roleid],
        accessModeSetAt: null,
        revertedOnce: false,
      },
    ],
  };
}

export function seedData(): SandboxData {
  return {
    version: 1,
    settings: { ...DEFAULT_SETTINGS },
    users: [],
    skus: seedSkus(),
    groups: [
      {
        id: stableGuid('group', SEED_GROUP),
        displayName: SEED_GROUP,
        mailNickname: 'dynamics-niu',
        members: [],
      },
    ],
    environments: ENVIRONMENT_NAMES.map(seedEnvironment),
    secrets: {},
    clients: seedClientSettings(),
  };
}

/** Directory roles of the seeded service principals (the provisioner sets passwords: sandbox/README.md). */
export const SEED_DIRECTORY_ROLES: Record<string, string[]> = { 'provisioner-client': ['User Administrator'] };

/** Each seeded client's Graph permissions, directory roles, management-app registration and vault access. */
export function seedClientSettings(): Record<string, ClientSettings> {
  return Object.fromEntries(
    CLIENTS.map((c) => [
      c.clientId,
      {
        permissions: [...(c.roles[GRAPH_AUDIENCE] ?? [])],
        directoryRoles: [...(SEED_DIRECTORY_ROLES[c.clientId] ?? [])],
        managementApp: c.powerPlatformAdmin,
        keyVaultAccess: c.keyVaultAccess,
      },
    ]),
  );
}

export function findClient(clientId: string): Client | undefined {
  return CLIENTS.find((c) => c.clientId === clientId);
}

/** Tenant ids accepted in token URLs: the GUID or the verified domain name. */
export function isTenant(value: string): boolean {
  const v = value.toLowerCase();
  return v === TENANT_ID || v === TENANT_NAME;
}
