// Key Vault secrets at the root of the sandbox origin (the vault URL is the sandbox URL):
// PUT /secrets/{name}, GET /secrets/{name}[/{version}], DELETE /secrets/{name}, and soft delete as
// a vault with it enabled (every new vault) answers: a deleted secret moves to
// /deletedsecrets/{name} (GET it, POST .../recover), and its name cannot be set again until it
// is recovered (409 ObjectIsDeletedButRecoverable). Purging is not emulated. A request without a token gets the
// real challenge (401 + WWW-Authenticate naming the authority and the resource), which is how
// @azure/keyvault-secrets learns the scope to ask for.
import { randomUUID } from 'node:crypto';
import type { Ctx, Reply } from './http';
import { bearerToken, codeError, HttpError, isObject, json } from './http';
import { clientSettings } from './directory';
import { KEYVAULT_AUDIENCE, TENANT_ID } from './seed';
import type { Store } from './store';
import type { TokenService } from './tokens';
import type { DeletedSecret, SecretVersion } from './types';

export interface KeyVaultDeps {
  store: Store;
  tokens: TokenService;
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;
/** The access policy permission each method needs, as Key Vault names it in its 403. */
const PERMISSION: Record<string, string> = { GET: 'get', PUT: 'set', DELETE: 'delete', POST: 'recover' };
/** Days a soft-deleted secret is kept (the vault's default retention). */
const RETENTION_DAYS = 90;

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
      `The user, group or application 'appid=${check.claims.appid};oid=${check.claims.oid}' does not have secrets ${PERMISSION[ctx.method] ?? 'get'} permission on key vault 'sandbox'.`,
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
      recoverableDays: RETENTION_DAYS,
    },
  };
  if (v.contentType !== null) out.contentType = v.contentType;
  if (v.tags !== null) out.tags = v.tags;
  return out;
}

/** A DeletedSecretBundle: the latest version's bundle without its value, and when it was deleted. */
function deletedBundle(ctx: Ctx, d: DeletedSecret): Record<string, unknown> {
  const { value: _value, ...latest } = bundle(ctx, d.name, d.versions[d.versions.length - 1]!);
  return {
    recoveryId: `${ctx.baseUrl}/deletedsecrets/${d.name}`,
    deletedDate: d.deletedDate,
    scheduledPurgeDate: d.scheduledPurgeDate,
    ...latest,
  };
}

function notFound(name: string): never {
  throw codeError(
    404,
    'SecretNotFound',
    `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
  );
}

function deletedNotFound(name: string): never {
  throw codeError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
}

/** GET /deletedsecrets/{name} and POST /deletedsecrets/{name}/recover. */
function handleDeleted(ctx: Ctx, deps: KeyVaultDeps, name: string, action: string | undefined): Reply {
  const deleted = (deps.store.data.deletedSecrets ??= {});
  const key = name.toLowerCase();
  const d = deleted[key];
  if (ctx.method === 'GET' && action === undefined) {
    if (!d) deletedNotFound(name);
    return json(200, deletedBundle(ctx, d));
  }
  if (ctx.method === 'POST' && action === 'recover') {
    if (!d) deletedNotFound(name);
    delete deleted[key];
    deps.store.data.secrets[key] = d.versions;
    deps.store.changed();
    const { value: _value, ...latest } = bundle(ctx, d.name, d.versions[d.versions.length - 1]!);
    return json(200, latest);
  }
  throw codeError(405, 'MethodNotAllowed', `The method ${ctx.method} is not allowed on this resource.`);
}

export async function handleKeyVault(ctx: Ctx, deps: KeyVaultDeps): Promise<Reply> {
  await authenticate(ctx, deps);
  if (!ctx.query.get('api-version')) {
    throw codeError(400, 'BadParameter', 'The request URI contains an invalid or missing api-version parameter.');
  }
  const [collection, ...parts] = ctx.path.split('/').filter(Boolean);
  const [name, version] = parts;
  if (name && NAME.test(name) && collection === 'deletedsecrets' && parts.length <= 2) {
    return handleDeleted(ctx, deps, name, version);
  }
  if (!name || !NAME.test(name) || parts.length > 2 || collection !== 'secrets') {
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
    if (deps.store.data.deletedSecrets?.[key]) {
      throw new HttpError(
        json(409, {
          error: {
            code: 'Conflict',
            message: `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
            innererror: { code: 'ObjectIsDeletedButRecoverable' },
          },
        }),
      );
    }
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
  if (ctx.method === 'DELETE') {
    // A whole secret, never one version; it moves to the deleted secrets (soft delete).
    if (version !== undefined) throw codeError(405, 'MethodNotAllowed', 'A secret version cannot be deleted.');
    const key = name.toLowerCase();
    const versions = secrets[key];
    if (!versions || versions.length === 0) notFound(name);
    const now = Math.floor(ctx.now / 1000);
    const d: DeletedSecret = {
      name,
      versions,
      deletedDate: now,
      scheduledPurgeDate: now + RETENTION_DAYS * 24 * 3600,
    };
    delete secrets[key];
    (deps.store.data.deletedSecrets ??= {})[key] = d;
    deps.store.changed();
    return json(200, deletedBundle(ctx, d));
  }
  throw codeError(405, 'MethodNotAllowed', `The method ${ctx.method} is not allowed on this resource.`);
}
