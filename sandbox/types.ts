// The sandbox's data model: one serialisable document (so it can be persisted to a file and
// returned by GET /_sandbox/state) holding the emulated tenant, its Graph directory, its
// Dataverse environments and its Key Vault secrets, plus the behaviour settings.
import type * as Graph from '@microsoft/microsoft-graph-types';

export type ServiceName = 'entra' | 'graph' | 'dataverse' | 'powerplatform' | 'keyvault' | 'control';

export interface Settings {
  /** How long after licensing (or a change to the Entra user) the next Dataverse sync sees it. */
  syncDelayMs: number;
  /** How long after licensing `addUser` keeps answering `userNotLicensed`. */
  licensePropagationMs: number;
  /** Removing the license within this long after setting mode 4 resets the mode to 1, once (0: off). */
  revertWindowMs: number;
  /** Graph answers 404 for a newly created user for this long (directory replication). 0: off. */
  replicationDelayMs: number;
  /** A new member of a group counts for the environments restricted to it this long after joining. 0: at once. */
  groupPropagationMs: number;
  /** Lifetime of issued access tokens. */
  tokenLifetimeSeconds: number;
  /**
   * Form of the tokens for the API's own audience: 1 (Entra's default for an API: issuer
   * https://sts.windows.net/{tid}/, `aud` the App ID URI) or 2 (the API's manifest asks for v2:
   * issuer <authority>/{tid}/v2.0, `aud` the API's client id). Absent in older state files: 1.
   */
  apiTokenVersion?: number;
}

/** A Graph user as stored: the Graph resource plus what the emulation needs to remember. */
export interface StoredUser {
  user: Graph.User & { id: string; userPrincipalName: string };
  /** Write-only in Graph: kept to check complexity, never returned. */
  password: string | null;
  createdAt: number;
  /** skuId -> time it was assigned (for propagation and sync delays). */
  licensedAt: Record<string, number>;
  /** Last change that a Dataverse sync must pick up (licensing, enablement, deletion). */
  changedAt: number;
  /** Time `addUser` forced a sync into an environment, per environment. */
  forcedSyncAt: Record<string, number>;
  deletedAt: number | null;
}

export interface Sku {
  skuId: string;
  skuPartNumber: string;
  /** prepaidUnits.enabled */
  seats: number;
  /** prepaidUnits.warning */
  warning: number;
  /** Whether the license gives access to Dataverse (synchronises the user into environments). */
  grantsDataverse: boolean;
  servicePlans: Graph.ServicePlanInfo[];
}

export interface Group {
  id: string;
  displayName: string;
  mailNickname: string;
  members: string[];
  /** When each member joined (through Graph), for groupPropagationMs; seeded members: always. */
  joinedAt?: Record<string, number>;
}

export interface BusinessUnit {
  businessunitid: string;
  name: string;
  _parentbusinessunitid_value: string | null;
}

export interface Role {
  roleid: string;
  name: string;
  _businessunitid_value: string;
  roletemplateid: string | null;
  ismanaged: boolean;
}

export interface SystemUser {
  systemuserid: string;
  azureactivedirectoryobjectid: string;
  /** Set for application users (the provisioner's app registration). */
  applicationid: string | null;
  domainname: string;
  fullname: string;
  internalemailaddress: string | null;
  accessmode: number;
  isdisabled: boolean;
  islicensed: boolean;
  _businessunitid_value: string;
  createdon: string;
  modifiedon: string;
  /** Row version, for `@odata.etag`. */
  versionnumber: number;
  /** roleid[] (systemuserroles_association). */
  roles: string[];
  /** When accessmode was last set to 4 (for the revert window), and whether it was reverted once. */
  accessModeSetAt: number | null;
  revertedOnce: boolean;
  /**
   * Disabled in Dataverse itself (the control API's `isdisabled`), whatever Entra ID says: the
   * sync keeps it disabled. Absent: the sync decides from the account alone.
   */
  disabledInDataverse?: boolean;
}

export interface Environment {
  name: string;
  /** Dataverse organization id. */
  organizationId: string;
  nonInteractiveLimit: number;
  /** The environment's security group (Entra group id): only its members are added. Unset: none. */
  securityGroupId?: string | null;
  businessUnits: BusinessUnit[];
  roles: Role[];
  systemUsers: SystemUser[];
}

export interface SecretVersion {
  version: string;
  value: string;
  contentType: string | null;
  tags: Record<string, string> | null;
  enabled: boolean;
  created: number;
  updated: number;
}

/** A soft-deleted secret: its versions, kept until recovered (or purged, which the sandbox never does). */
export interface DeletedSecret {
  /** The name as it was written. */
  name: string;
  versions: SecretVersion[];
  /** Unix seconds, as Key Vault's attributes. */
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface Client {
  clientId: string;
  secret: string;
  displayName: string;
  /** Object id of the client's service principal (the token's `oid`). */
  servicePrincipalId: string;
  /** Resource -> app roles granted (the token's `roles`). Resources not listed get no roles. */
  roles: Record<string, string[]>;
  /** Registered as a Power Platform admin management application. */
  powerPlatformAdmin: boolean;
  /** Has an access policy on the vault (its seeded `keyVaultAccess` setting). */
  keyVaultAccess: boolean;
}

/** A federated identity credential of an app registration (Graph's federatedIdentityCredential). */
export interface FederatedCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

/** The credentials registered on a client besides its secret. */
export interface ClientCredentials {
  /** Public certificates (PEM) whose keys may sign client assertions. */
  certificates: string[];
  federatedCredentials: FederatedCredential[];
}

export interface SandboxData {
  version: 1;
  settings: Settings;
  users: StoredUser[];
  skus: Sku[];
  groups: Group[];
  environments: Environment[];
  secrets: Record<string, SecretVersion[]>;
  /** Soft-deleted secrets by lower-case name (unset in state saved before they existed: none). */
  deletedSecrets?: Record<string, DeletedSecret>;
  /** Per-client directory settings by client id (unset in state saved before they existed: the seed's). */
  clients?: Record<string, ClientSettings>;
  /** Client id -> credentials set through the control API; a client not listed has its seeded ones. */
  credentials?: Record<string, ClientCredentials>;
  /** The client the managed identity endpoint issues tokens as; absent: the provisioner. */
  managedIdentityClientId?: string;
}

export interface Fault {
  service: Exclude<ServiceName, 'control'>;
  method?: string;
  /** Regular expression tested against the request path and query (decoded). */
  path?: string;
  /** Status to answer with; omit for latency only. */
  status?: number;
  /** Probability (0..1) that a matching request is hit; default 1. */
  rate?: number;
  /** How many requests to hit at most; omit for no limit. */
  count?: number;
  retryAfterSeconds?: number;
  delayMs?: number;
  /** Process the request first, then answer with the fault (a lost response). */
  after?: boolean;
}

export interface RequestLogEntry {
  seq: number;
  /** ISO time the request arrived. */
  at: string;
  service: ServiceName | 'unknown';
  method: string;
  /** Path and query as received (decoded). */
  path: string;
  status: number;
  durationMs: number;
  /** The caller's `appid` when it presented a valid token. */
  clientId: string | null;
  /** The injected fault, if any. */
  fault: { index: number; status: number | null; delayMs: number; after: boolean } | null;
}

/** What the tenant grants one app registration, changed through the control API's `clients`. */
export interface ClientSettings {
  /** Microsoft Graph application permissions (the `roles` of its Graph tokens). */
  permissions: string[];
  /** Entra directory roles of its service principal, by display name (template ids in `wids`). */
  directoryRoles: string[];
  /** Registered as a Power Platform admin management application. */
  managementApp: boolean;
  /** May get and set the vault's secrets (an access policy, or the role Key Vault Secrets Officer). */
  keyVaultAccess: boolean;
}
