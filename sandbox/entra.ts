// Entra ID (the Microsoft identity platform v2.0 endpoints) for the client-credentials grant:
// OpenID metadata (v2.0, and v1.0 for the API's v1 tokens), the token endpoint (clients
// authenticated by secret, certificate or federated token: sandbox/client-auth.ts) and the
// signing keys, with the real error bodies (`invalid_client` AADSTS7000215 for a wrong secret,
// and so on). Beside it: the sandbox's federation issuer (/_federation) and the managed identity
// endpoint (/msi/token).
import { type ClientAuthDeps, authenticateClient } from './client-auth';
import { asIssued } from './directory';
import { handleFederation } from './federation';
import type { Ctx, Reply } from './http';
import { GUID_RE, HttpError, isObject, json, oauthError } from './http';
import { handleManagedIdentity } from './managed-identity';
import {
  API_AUDIENCE,
  API_CLIENT_ID,
  GRAPH_AUDIENCE,
  KEYVAULT_AUDIENCE,
  POWERPLATFORM_AUDIENCE,
  TENANT_ID,
  TENANT_NAME,
  isTenant,
} from './seed';
import type { Store } from './store';
import { type TokenService, v1Issuer } from './tokens';
import type { Client } from './types';

export interface EntraDeps extends ClientAuthDeps {
  store: Store;
  tokens: TokenService;
  port: number;
}

const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** Maps a requested resource to the audience the token will carry, or null if unknown. */
export function resolveResource(resource: string, deps: EntraDeps): string | null {
  const r = resource.replace(/\/+$/, '');
  const lower = r.toLowerCase();
  if (lower === GRAPH_AUDIENCE || lower === GRAPH_APP_ID) return GRAPH_AUDIENCE;
  if (lower === POWERPLATFORM_AUDIENCE || lower === 'https://api.bap.microsoft.com') return POWERPLATFORM_AUDIENCE;
  if (lower === KEYVAULT_AUDIENCE) return KEYVAULT_AUDIENCE;
  if (lower === API_AUDIENCE || lower === API_CLIENT_ID) return API_AUDIENCE;
  // Dataverse: each environment's URL on this sandbox (127.0.0.1 or localhost, this port).
  try {
    const url = new URL(r);
    const m = /^\/dataverse\/([^/]+)$/.exec(url.pathname);
    if (url.protocol === 'https:' && Number(url.port) === deps.port && m && deps.store.environment(m[1]!)) {
      return `${url.origin}${url.pathname}`;
    }
  } catch {
    // not a URL
  }
  return null;
}

/**
 * A token for `client` to the requested resource, or null when the tenant has no such resource.
 * The API's own tokens take the form its app registration asks for (`apiTokenVersion`): v1 by
 * default, `aud` the identifier the client asked for (App ID URI or client id, as Entra's v1
 * tokens do); v2, `aud` always the API's client id.
 */
export async function issueFor(
  client: Client,
  resource: string,
  acr: '1' | '2',
  deps: EntraDeps,
): Promise<{ token: string; expiresIn: number } | null> {
  const audience = resolveResource(resource, deps);
  if (!audience) return null;
  const lifetime = deps.store.data.settings.tokenLifetimeSeconds;
  // The registration as the tenant grants it now: Graph permissions as `roles`, directory roles as `wids`.
  const { client: granted, claims: extraClaims } = asIssued(client, deps.store.data);
  if (audience !== API_AUDIENCE) return deps.tokens.issue(granted, audience, lifetime, { acr, extraClaims });
  const version = deps.store.data.settings.apiTokenVersion === 2 ? 2 : 1;
  const byClientId = GUID_RE.test(resource.replace(/\/+$/, ''));
  const aud = version === 2 || byClientId ? API_CLIENT_ID : API_AUDIENCE;
  return deps.tokens.issue(granted, aud, lifetime, { version, acr, rolesOf: API_AUDIENCE, extraClaims });
}

/** The v1.0 metadata (/{tenant}/.well-known/openid-configuration): the v1 issuer, the same keys. */
function openIdConfigurationV1(ctx: Ctx): Record<string, unknown> {
  const base = `${ctx.baseUrl}/${TENANT_ID}`;
  return {
    token_endpoint: `${base}/oauth2/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${ctx.baseUrl}/common/discovery/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
    scopes_supported: ['openid'],
    issuer: v1Issuer(TENANT_ID),
    authorization_endpoint: `${base}/oauth2/authorize`,
    end_session_endpoint: `${base}/oauth2/logout`,
    claims_supported: [
      'sub',
      'iss',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'amr',
      'nonce',
      'tid',
      'ver',
      'appid',
      'roles',
    ],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
  };
}

function openIdConfiguration(ctx: Ctx): Record<string, unknown> {
  const base = `${ctx.baseUrl}/${TENANT_ID}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${ctx.baseUrl}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'tid', 'ver', 'roles'],
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
  };
}

function tenantNotFound(tenant: string): HttpError {
  return oauthError(
    400,
    'invalid_tenant',
    90002,
    `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
  );
}

export function resourceNotFound(resource: string): HttpError {
  return oauthError(
    400,
    'invalid_resource',
    500011,
    `The resource principal named ${resource} was not found in the tenant named ${TENANT_NAME}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`,
  );
}

async function token(ctx: Ctx, tenant: string, deps: EntraDeps): Promise<Reply> {
  if (!isTenant(tenant)) throw tenantNotFound(tenant);
  const form = isObject(ctx.body) ? (ctx.body as Record<string, string | undefined>) : {};
  const grant = form.grant_type;
  if (!grant) {
    throw oauthError(
      400,
      'invalid_request',
      900144,
      "The request body must contain the following parameter: 'grant_type'.",
    );
  }
  if (grant !== 'client_credentials') {
    throw oauthError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`);
  }
  const { client, acr } = await authenticateClient(form, ctx, deps);
  const scopes = (form.scope ?? '').split(' ').filter((s) => s && !['openid', 'profile', 'offline_access'].includes(s));
  const scope = scopes[0];
  if (scopes.length !== 1 || !scope || !scope.endsWith('/.default')) {
    throw oauthError(
      400,
      'invalid_scope',
      1002012,
      `The provided value for scope ${form.scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const resource = scope.slice(0, -'/.default'.length);
  const issued = await issueFor(client, resource, acr, deps);
  if (!issued) throw resourceNotFound(resource);
  return json(
    200,
    {
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      ext_expires_in: issued.expiresIn,
      access_token: issued.token,
    },
    { 'cache-control': 'no-store, no-cache', pragma: 'no-cache' },
  );
}

export async function handleEntra(ctx: Ctx, deps: EntraDeps): Promise<Reply> {
  const parts = ctx.path.split('/').filter(Boolean);
  const [tenant, ...rest] = parts;
  const tail = rest.join('/');
  if (ctx.method === 'GET' && tenant === 'common' && tail === 'discovery/instance') {
    // Instance discovery (skipped by clients with disableInstanceDiscovery, answered anyway).
    const host = new URL(ctx.baseUrl).host;
    return json(200, {
      tenant_discovery_endpoint: `${ctx.baseUrl}/${TENANT_ID}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }
  if (!tenant) throw oauthError(404, 'not_found', 90000, 'Not found.');
  if (tenant === '_federation') return handleFederation(ctx, deps.federation, tail);
  if (tenant === 'msi' && tail === 'token') {
    const issue = (client: Client, resource: string) => issueFor(client, resource, '2', deps);
    return handleManagedIdentity(ctx, deps.credentials.managedIdentityClientId(), issue);
  }
  const knownTenant = isTenant(tenant) || tenant === 'common' || tenant === 'organizations';
  if (ctx.method === 'GET' && tail === 'v2.0/.well-known/openid-configuration') {
    if (!isTenant(tenant)) throw tenantNotFound(tenant);
    return json(200, openIdConfiguration(ctx));
  }
  if (ctx.method === 'GET' && tail === '.well-known/openid-configuration') {
    if (!isTenant(tenant)) throw tenantNotFound(tenant);
    return json(200, openIdConfigurationV1(ctx));
  }
  if (ctx.method === 'GET' && (tail === 'discovery/v2.0/keys' || tail === 'discovery/keys')) {
    if (!knownTenant) throw tenantNotFound(tenant);
    return json(200, deps.tokens.jwks());
  }
  if (tail === 'oauth2/v2.0/token') {
    if (ctx.method !== 'POST') {
      throw oauthError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
    }
    return token(ctx, tenant, deps);
  }
  throw oauthError(404, 'invalid_request', 90000, `The endpoint ${ctx.path} is not emulated by the sandbox.`);
}
