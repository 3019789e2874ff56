// The Power Platform admin API (BAP) calls the provisioner needs: `addUser`, which forces the
// synchronisation of one Entra user into an environment and answers `userNotLicensed` until the
// license has propagated (`licensePropagationMs`), plus reading the environments (with their
// Dataverse URLs and security group). Only a registered management application may call it, and
// an environment restricted to a security group takes only the group's members.
import { clientSettings } from './directory';
import type { Ctx, Reply } from './http';
import { GUID_RE, HttpError, bearerToken, codeError, isObject, json } from './http';
import { POWERPLATFORM_AUDIENCE, TENANT_ID } from './seed';
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
  if (!clientSettings(deps.store.data, check.claims.appid).managementApp) {
    // BAP's answer to an application that is not a registered management application (as quoted
    // in MicrosoftDocs/power-platform issue 1260 and matched on by Microsoft's Terraform provider,
    // internal/api/client.go); the real message names BAP's internal backend host, not its own.
    const search = new URLSearchParams(ctx.query).toString();
    throw codeError(
      403,
      'Forbidden',
      `The service principal with id '${check.claims.oid}' for application ${check.claims.appid} does not have permission to access the path '${ctx.baseUrl}${ctx.path}${search ? `?${search}` : ''}' in tenant ${TENANT_ID}.`,
    );
  }
}

const CREATED = '2024-01-01T00:00:00Z';

/**
 * An environment as `GET .../scopes/admin/environments[/{id}]` shows it (the fields the recorded
 * responses in Microsoft's Terraform provider carry, internal/services/environment/tests): the
 * Dataverse URL in `linkedEnvironmentMetadata.instanceUrl`, and `securityGroupId` there only when
 * the environment is restricted to a group.
 */
function environmentView(ctx: Ctx, env: Environment): Record<string, unknown> {
  const dataverse = `${ctx.baseUrl}/dataverse/${env.name}`;
  return {
    id: `${PREFIX}/${env.name}`,
    type: 'Microsoft.BusinessAppPlatform/scopes/environments',
    location: 'europe',
    name: env.name,
    properties: {
      tenantId: TENANT_ID,
      azureRegion: 'westeurope',
      displayName: env.name,
      createdTime: CREATED,
      provisioningState: 'Succeeded',
      creationType: 'User',
      environmentSku: 'Production',
      isDefault: false,
      databaseType: 'CommonDataService',
      linkedEnvironmentMetadata: {
        resourceId: env.organizationId,
        friendlyName: env.name,
        uniqueName: env.name,
        domainName: env.name,
        version: '9.2.0.0',
        instanceUrl: `${dataverse}/`,
        instanceApiUrl: dataverse,
        baseLanguage: 1033,
        instanceState: 'Ready',
        createdTime: CREATED,
        ...(env.securityGroupId ? { securityGroupId: env.securityGroupId } : {}),
      },
      states: { management: { id: 'Ready' }, runtime: { id: 'Enabled' } },
    },
  };
}

/**
 * `addUser` for a user outside the environment's security group. The body is the one the Power
 * Platform for Admins connector's "Force Sync user" (this call) returned in microsoft/coe-starter-kit
 * issues 9270 and 10191; the issues show the body only, so the status is this API's usual 400, and
 * the trace in `information` is cut where the quoted one is.
 */
function notInSecurityGroup(ctx: Ctx, env: Environment, objectId: string): HttpError {
  const subject = (Subject: string, Description: string | null = null, Code: string | null = null) => ({
    Subject,
    Description,
    Code,
  });
  const trace = [
    'SyncMode: Default',
    `Instance ${env.organizationId} exists`,
    `Instance ${env.organizationId} in enabled state`,
    `Instance Url found ${ctx.baseUrl}/dataverse/${env.name}`,
    'User found in AD tenant',
    'User in enabled state in AD tenant',
  ];
  return new HttpError(
    json(400, {
      errors: [
        subject(
          'Result',
          `User ${objectId} is not part of security group ${env.securityGroupId}`,
          'userNotPartOfSecurityGroup',
        ),
        subject('InnerException'),
        subject('AdditionalData'),
      ],
      information: [subject('Result', JSON.stringify(trace))],
    }),
  );
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
  if (!deps.store.inSecurityGroup(env, u, ctx.now)) throw notInSecurityGroup(ctx, env, u.user.id);
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
