// Key Vault secrets at the root of the sandbox origin (the vault URL is the sandbox URL):
// PUT /secrets/{name}, GET /secrets/{name}[/{version}]. A request without a token gets the
// real challenge (401 + WWW-Authenticate naming the authority and the resource), which is how
// @azure/keyvault-secrets learns the scope to ask for.
import { randomUUID } from 'node:crypto';
import type { Ctx, Reply } from './http';
import { bearerToken, codeError, isObject, json } from './http';
import { clientSettings } from './directory';
import { KEYVAULT_AUDIENCE, TENANT_ID } from './seed';
import type { Store } from './store';
import type { TokenService } from './tokens';
import type { SecretVersion } from './types';

export interface KeyVaultDeps {
  store: Store;
  tokens: TokenService;
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;

async function authenticate(ctx: Ctx, deps: KeyVaultDeps): Promise<void> {
  const challenge = {
    // The authority carries the tenant GUID, as the real service's does; a credential configured
    // with the domain name must allow that tenant (or be configured with the GUID).
    'www-authenticate': `Bearer authorization="${ctx.baseUrl}/${TENANT_ID}", resource="${KEYVAULT_AUDIENCE}"`,
  };
  const token = bearerToken(ctx);
  if (!token) {
    throw codeError(401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', challenge);
  }
  const check = await deps.tokens.verify(token, (aud) => aud.replace(/\/+$/, '') === KEYVAULT_AUDIENCE);
  if (!check.ok) {
    const message =
      check.reason === 'audience'
        ? `AKV10022: Invalid audience. Expected ${KEYVAULT_AUDIENCE}.`
        : check.reason === 'expired'
          ? 'AKV10032: Invalid token: the token is expired.'
          : `AKV10032: Invalid token. ${check.message}`;
    throw codeError(401, 'Unauthorized', message, challenge);
  }
  ctx.auth = check.claims;
  // Looked up on every call, as an access policy or role assignment takes effect without a new token.
  if (!clientSettings(deps.store.data, check.claims.appid).keyVaultAccess) {
    throw codeError(
      403,
      'Forbidden',
      `The user, group or application 'appid=${check.claims.appid};oid=${check.claims.oid}' does not have secrets ${ctx.method === 'GET' ? 'get' : 'set'} permission on key vault 'sandbox'.`,
    );
  }
}

function bundle(ctx: Ctx, name: string, v: SecretVersion): Record<string, unknown> {
  const out: Record<string, unknown> = {
    value: v.value,
    id: `${ctx.baseUrl}/secrets/${name}/${v.version}`,
    attributes: {
      enabled: v.enabled,
      created: v.created,
      updated: v.updated,
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    },
  };
  if (v.contentType !== null) out.contentType = v.contentType;
  if (v.tags !== null) out.tags = v.tags;
  return out;
}

function notFound(name: string): never {
  throw codeError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

export async function handleKeyVault(ctx: Ctx, deps: KeyVaultDeps): Promise<Reply> {
  await authenticate(ctx, deps);
  if (!ctx.query.get('api-version')) {
    throw codeError(400, 'BadParameter', 'The request URI contains an invalid or missing api-version parameter.');
  }
  const parts = ctx.path.split('/').filter(Boolean).slice(1); // drop "secrets"
  const [name, version] = parts;
  if (!name || !NAME.test(name) || parts.length > 2) {
    throw codeError(
      400,
      'BadParameter',
      "The request URI contains an invalid secret name. Secret names may contain only 0-9, a-z, A-Z and '-'.",
    );
  }
  const secrets = deps.store.data.secrets;
  if (ctx.method === 'PUT') {
    if (version !== undefined) throw codeError(405, 'MethodNotAllowed', 'A secret version cannot be set.');
    const body = ctx.bodyError === null && isObject(ctx.body) ? ctx.body : null;
    if (!body || typeof body.value !== 'string') {
      throw codeError(400, 'BadParameter', "Property 'value' is required and must be a string.");
    }
    const now = Math.floor(ctx.now / 1000);
    const attrs = isObject(body.attributes) ? body.attributes : {};
    const v: SecretVersion = {
      version: randomUUID().replace(/-/g, ''),
      value: body.value,
      contentType: typeof body.contentType === 'string' ? body.contentType : null,
      tags: isObject(body.tags) ? (body.tags as Record<string, string>) : null,
      enabled: attrs.enabled !== false,
      created: now,
      updated: now,
    };
    const key = name.toLowerCase();
    secrets[key] = [...(secrets[key] ?? []), v];
    deps.store.changed();
    return json(200, bundle(ctx, name, v));
  }
  if (ctx.method === 'GET') {
    const versions = secrets[name.toLowerCase()];
    if (!versions || versions.length === 0) notFound(name);
    const v = version ? versions.find((x) => x.version === version.toLowerCase()) : versions[versions.length - 1];
    if (!v) notFound(`${name}/${version}`);
    if (!v.enabled) {
      throw codeError(403, 'Forbidden', `Operation get is not allowed on a disabled secret.`);
    }
    return json(200, bundle(ctx, name, v));
  }
  throw codeError(405, 'MethodNotAllowed', `The method ${ctx.method} is not allowed on this resource.`);
}
