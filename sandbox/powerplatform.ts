// The Power Platform admin API (BAP) calls the provisioner needs: `addUser`, which forces the
// synchronisation of one Entra user into an environment and answers `userNotLicensed` until the
// license has propagated (`licensePropagationMs`), plus reading the environments.
import type { Ctx, Reply } from './http';
import { GUID_RE, HttpError, bearerToken, codeError, isObject, json } from './http';
import { POWERPLATFORM_AUDIENCE, TENANT_ID, findClient } from './seed';
import type { Store } from './store';
import type { TokenService } from './tokens';
import type { Environment } from './types';

export interface PowerPlatformDeps {
  store: Store;
  tokens: TokenService;
}

const PREFIX = '/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments';

async function authenticate(ctx: Ctx, deps: PowerPlatformDeps): Promise<void> {
  const check = await deps.tokens.verify(bearerToken(ctx), (aud) => aud === POWERPLATFORM_AUDIENCE);
  if (!check.ok) {
    const code = check.reason === 'missing' ? 'MissingAuthenticationToken' : 'InvalidAuthenticationToken';
    throw codeError(401, code, `The access token is invalid: ${check.message}`, {
      'www-authenticate': `Bearer authorization_uri="${ctx.baseUrl}/${TENANT_ID}/oauth2/authorize", error="invalid_token"`,
    });
  }
  ctx.auth = check.claims;
  if (!findClient(check.claims.appid)?.powerPlatformAdmin) {
    throw codeError(
      403,
      'Forbidden',
      `The caller '${check.claims.appid}' is not registered as a Power Platform management application and cannot perform this operation.`,
    );
  }
}

function environmentView(ctx: Ctx, env: Environment): Record<string, unknown> {
  return {
    id: `${PREFIX}/${env.name}`,
    type: 'Microsoft.BusinessAppPlatform/scopes/environments',
    location: 'europe',
    name: env.name,
    properties: {
      tenantId: TENANT_ID,
      displayName: env.name,
      environmentSku: 'Production',
      linkedEnvironmentMetadata: {
        resourceId: env.organizationId,
        uniqueName: env.name,
        instanceUrl: `${ctx.baseUrl}/dataverse/${env.name}/`,
        instanceApiUrl: `${ctx.baseUrl}/dataverse/${env.name}`,
        version: '9.2.0.0',
      },
    },
  };
}

function addUser(ctx: Ctx, env: Environment, deps: PowerPlatformDeps): Reply {
  const body = ctx.bodyError === null && isObject(ctx.body) ? ctx.body : null;
  const objectId = body?.objectId;
  if (typeof objectId !== 'string' || !GUID_RE.test(objectId)) {
    throw codeError(
      400,
      'InvalidRequestContent',
      "The request content is invalid: 'objectId' must be the Entra object id of a user.",
    );
  }
  const u = deps.store.findUser(objectId);
  if (!u) {
    throw codeError(
      404,
      'UserNotFound',
      `The user with object id '${objectId}' was not found in tenant '${TENANT_ID}'.`,
    );
  }
  const since = deps.store.licensedSince(u);
  if (since === null || ctx.now < since + deps.store.data.settings.licensePropagationMs) {
    throw codeError(
      400,
      'userNotLicensed',
      `The user '${objectId}' does not have a valid license for environment '${env.name}'. If a license was just assigned, it may take a few minutes to propagate.`,
    );
  }
  if (u.user.accountEnabled === false) {
    throw codeError(400, 'userDisabled', `The user '${objectId}' is disabled in Entra ID.`);
  }
  u.forcedSyncAt[env.name] = ctx.now;
  deps.store.syncUser(env, u, ctx.now);
  deps.store.changed();
  const su = env.systemUsers.find((s) => s.azureactivedirectoryobjectid === u.user.id);
  return json(200, {
    systemUserId: su?.systemuserid ?? null,
    objectId: u.user.id,
    userPrincipalName: u.user.userPrincipalName,
    isDisabled: su?.isdisabled ?? null,
  });
}

export async function handlePowerPlatform(ctx: Ctx, deps: PowerPlatformDeps): Promise<Reply> {
  if (!ctx.path.startsWith(PREFIX)) {
    throw codeError(404, 'NotFound', `The resource '${ctx.path}' is not emulated by the sandbox.`);
  }
  await authenticate(ctx, deps);
  if (!ctx.query.get('api-version')) {
    throw codeError(
      400,
      'MissingApiVersionParameter',
      'The api-version query parameter (?api-version=) is required for all requests.',
    );
  }
  const rest = ctx.path.slice(PREFIX.length).split('/').filter(Boolean);
  if (rest.length === 0) {
    if (ctx.method !== 'GET') throw codeError(405, 'MethodNotAllowed', 'The method is not allowed.');
    return json(200, { value: deps.store.data.environments.map((e) => environmentView(ctx, e)) });
  }
  const env = deps.store.environment(rest[0]!);
  if (!env) {
    throw codeError(
      404,
      'EnvironmentNotFound',
      `The environment '${rest[0]}' could not be found in the tenant '${TENANT_ID}'.`,
    );
  }
  if (rest.length === 1 && ctx.method === 'GET') return json(200, environmentView(ctx, env));
  if (rest.length === 2 && rest[1] === 'addUser') {
    if (ctx.method !== 'POST') throw codeError(405, 'MethodNotAllowed', 'The method is not allowed.');
    return addUser(ctx, env, deps);
  }
  throw new HttpError(json(404, { error: { code: 'NotFound', message: `The resource '${ctx.path}' was not found.` } }));
}
