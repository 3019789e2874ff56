// Helpers for tests that talk to the sandbox (sandbox/server.ts): start one in-process on a
// free port with the CA that scripts/test.sh made trusted, drive its control API with types,
// and build the real client libraries against it.
import path from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { Client } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials';
import { DynamicsWebApi } from 'dynamics-web-api';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../sandbox/server';
import type {
  BusinessUnit,
  ClientSettings,
  Fault,
  FederatedCredential,
  Group,
  RequestLogEntry,
  Role,
  Settings,
  SystemUser,
} from '../../sandbox/types';
import type * as GraphTypes from '@microsoft/microsoft-graph-types';

export type { Sandbox, Fault, RequestLogEntry, SystemUser };

export const SKU_PART = 'DYN365_ENTERPRISE_PLAN1';
export const SKU_ID = 'ea126fc5-a19e-42e2-a731-da9d437bffcf';
export const DOMAIN = 'contoso.onmicrosoft.com';
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const POWERPLATFORM_SCOPE = 'https://service.powerapps.com/.default';
export const API_SCOPE = 'api://noninteractive-users/.default';

/** The directory the test harness prepared (scripts/test.sh ran ensure-ca there). */
export function testCertDir(): string {
  return path.resolve(__dirname, '../..', process.env.DATA_DIR ?? '.data', 'sandbox');
}

/** Starts a sandbox in this process on a free port (state in memory unless given a file). */
export function startTestSandbox(options: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  return startSandbox({ port: 0, certDir: testCertDir(), ...options });
}

// ---- control API ----

export interface SandboxStateDoc {
  tenant: { id: string; name: string; verifiedDomains: string[] };
  settings: Settings;
  users: (GraphTypes.User & {
    id: string;
    userPrincipalName: string;
    passwordSet: boolean;
    licensedAt: Record<string, string>;
  })[];
  deletedUsers: { id: string; userPrincipalName: string; deletedDateTime: string }[];
  skus: {
    skuId: string;
    skuPartNumber: string;
    seats: number;
    consumedUnits: number;
    available: number;
    grantsDataverse: boolean;
  }[];
  groups: Group[];
  environments: Record<
    string,
    {
      url: string;
      organizationId: string;
      nonInteractiveLimit: number;
      securityGroupId: string | null;
      nonInteractiveUsers: number;
      businessUnits: BusinessUnit[];
      roles: Role[];
      systemusers: SystemUser[];
    }
  >;
  secrets: string[];
  /** Per secret, its version ids in the order they were set. */
  secretVersions: Record<string, string[]>;
  deletedSecrets: string[];
  clients: ({ clientId: string; roles: Record<string, string[]> } & ClientSettings)[];
}

export type SandboxConfigPatch = Partial<Settings> & {
  environments?: Record<string, { nonInteractiveLimit?: number; securityGroupId?: string | null }>;
  skus?: Record<string, { seats?: number }>;
  clients?: Record<
    string,
    Partial<ClientSettings> & { certificates?: string[]; federatedCredentials?: Partial<FederatedCredential>[] }
  >;
  managedIdentity?: { clientId: string };
};

export type SandboxConfigDoc = Settings & {
  environments: Record<string, { nonInteractiveLimit: number; securityGroupId: string | null }>;
  skus: Record<string, { seats: number }>;
  apiTokenVersion: number;
  clients: Record<
    string,
    ClientSettings & {
      certificates: { thumbprint: string; thumbprintSha256: string; subject: string; notAfter: string }[];
      federatedCredentials: FederatedCredential[];
    }
  >;
  managedIdentity: { clientId: string };
};

export class SandboxControlError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`sandbox ${what}: ${status} ${body}`);
  }
}

export function sandboxControl(url: string) {
  const call = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}/_sandbox/${route}`, {
      method,
      headers: body !== undefined ? { 'content-type': 'application/json' } : {},
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new SandboxControlError(res.status, text, `${method} ${route}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    state: () => call<SandboxStateDoc>('GET', 'state'),
    reset: () => call<void>('POST', 'reset'),
    getConfig: () => call<SandboxConfigDoc>('GET', 'config'),
    config: (patch: SandboxConfigPatch) => call<SandboxConfigDoc>('PATCH', 'config', patch),
    faults: (list: Fault[]) =>
      call<{ faults: (Fault & { hits: number; remaining: number | null })[] }>('PUT', 'faults', list),
    listFaults: () => call<{ faults: (Fault & { hits: number; remaining: number | null })[] }>('GET', 'faults'),
    clearFaults: () => call<void>('DELETE', 'faults'),
    requests: async (filter: { service?: string; method?: string; path?: string; since?: number } = {}) => {
      const q = new URLSearchParams(
        Object.entries(filter)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]): [string, string] => [k, String(v)]),
      );
      const doc = await call<{ requests: RequestLogEntry[] }>('GET', `requests${q.size ? `?${q}` : ''}`);
      return doc.requests;
    },
    clearRequests: () => call<void>('DELETE', 'requests'),
    /** The account's password age (read-only in Graph): PATCH /_sandbox/users/{id|upn}. */
    setPasswordChanged: (idOrUpn: string, at: string) =>
      call<void>('PATCH', `users/${encodeURIComponent(idOrUpn)}`, { lastPasswordChangeDateTime: at }),
    /** What an administrator changes on a systemuser: PATCH /_sandbox/environments/{env}/systemusers/{id}. */
    patchSystemUser: (
      environment: string,
      systemUserId: string,
      patch: { isdisabled?: boolean; accessmode?: number },
    ) => call<void>('PATCH', `environments/${environment}/systemusers/${systemUserId}`, patch),
    /** A token of the sandbox's federation issuer (POST /_sandbox/federation/token). */
    federationToken: (request: { subject: string; audience?: string; lifetimeSeconds?: number }) =>
      call<{ token: string; issuer: string; expiresOn: number }>('POST', 'federation/token', request),
  };
}

export type SandboxControl = ReturnType<typeof sandboxControl>;

// ---- real clients against the sandbox ----

/** ClientSecretCredential for a seeded client (tenant by name unless given). */
export function credential(
  sandbox: Sandbox,
  clientId = 'provisioner-client',
  secret?: string,
  tenant: string = sandbox.tenantName,
): ClientSecretCredential {
  const known = sandbox.clients.find((c) => c.clientId === clientId);
  return new ClientSecretCredential(tenant, clientId, secret ?? known?.secret ?? 'unknown', {
    authorityHost: sandbox.url,
    disableInstanceDiscovery: true,
  });
}

/** The Graph SDK client pointed at the sandbox (baseUrl + customHosts, as the worker does). */
export function graphClient(sandbox: Sandbox, cred = credential(sandbox)): Client {
  return Client.initWithMiddleware({
    authProvider: new TokenCredentialAuthenticationProvider(cred, { scopes: [GRAPH_SCOPE] }),
    baseUrl: `${sandbox.url}/`,
    customHosts: new Set([new URL(sandbox.url).hostname]),
  });
}

/** A Graph client that sends a fixed access token (to test token rejection). */
export function graphClientWithToken(sandbox: Sandbox, token: string): Client {
  return Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: `${sandbox.url}/`,
    customHosts: new Set([new URL(sandbox.url).hostname]),
  });
}

export function dataverseUrl(sandbox: Sandbox, environment: string): string {
  return `${sandbox.url}/dataverse/${environment}`;
}

/** dynamics-web-api against one environment, with tokens from `tokenFor` (default: the provisioner). */
export function dataverseClient(
  sandbox: Sandbox,
  environment: string,
  tokenFor: () => Promise<string> = async () =>
    (await credential(sandbox).getToken(`${dataverseUrl(sandbox, environment)}/.default`)).token,
): DynamicsWebApi {
  return new DynamicsWebApi({
    serverUrl: `${dataverseUrl(sandbox, environment)}/`,
    dataApi: { version: '9.2' },
    onTokenRefresh: tokenFor,
  });
}

/** POST .../environments/{environment}/addUser with fetch, as the worker's activity does. */
export async function addUser(
  sandbox: Sandbox,
  environment: string,
  objectId: string,
  token?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const bearer = token ?? (await credential(sandbox).getToken(POWERPLATFORM_SCOPE)).token;
  const res = await fetch(
    `${sandbox.url}/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/${environment}/addUser?api-version=2023-06-01`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ objectId }),
    },
  );
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** A strong password that satisfies Entra's complexity rule. */
export function password(): string {
  return `Pw-${Math.random().toString(36).slice(2, 10)}A9!`;
}

/** Creates an Entra user through Graph; returns its object id. */
export async function createUser(graph: Client, upn: string, extra: Partial<GraphTypes.User> = {}): Promise<string> {
  const user = (await graph.api('/users').post({
    accountEnabled: true,
    displayName: upn.split('@')[0],
    mailNickname: upn.split('@')[0],
    userPrincipalName: upn,
    usageLocation: 'US',
    passwordProfile: { password: password(), forceChangePasswordNextSignIn: true },
    ...extra,
  })) as { id: string };
  return user.id;
}

/** Assigns the Dynamics license through Graph. */
export async function license(graph: Client, userId: string, skuId = SKU_ID): Promise<void> {
  await graph
    .api(`/users/${userId}/assignLicense`)
    .post({ addLicenses: [{ skuId, disabledPlans: [] }], removeLicenses: [] });
}

export async function unlicense(graph: Client, userId: string, skuId = SKU_ID): Promise<void> {
  await graph.api(`/users/${userId}/assignLicense`).post({ addLicenses: [], removeLicenses: [skuId] });
}

/** The error a client library threw, with the sandbox's parsed body when it has one. */
export async function caught(promise: Promise<unknown>): Promise<Record<string, unknown> & { body?: unknown }> {
  try {
    await promise;
  } catch (err) {
    const e = err as Record<string, unknown>;
    let body: unknown = e.body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // leave as text
      }
    }
    return Object.assign(e, { body });
  }
  throw new Error('expected the call to fail, it succeeded');
}

export type GraphErrorBody = {
  error: {
    code: string;
    message: string;
    details?: { code: string; target: string }[];
    innerError: Record<string, string>;
  };
};

/** The Graph error a call failed with: status, code and the parsed body. */
export async function graphError(promise: Promise<unknown>) {
  const err = await caught(promise);
  // GraphError.body is the JSON of the response's `error` member.
  return { status: err.statusCode as number, code: err.code as string, body: { error: err.body } as GraphErrorBody };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
