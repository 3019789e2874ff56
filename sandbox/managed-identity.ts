// The managed identity endpoint of Azure App Service (api-version 2019-08-01), which
// @azure/identity's ManagedIdentityCredential (MSAL's AppService source) calls when
// IDENTITY_ENDPOINT and IDENTITY_HEADER are set: `GET <endpoint>?resource=<resource>&api-version=
// 2019-08-01[&client_id=<user-assigned id>]` with the header `X-IDENTITY-HEADER: <IDENTITY_HEADER>`,
// answered with `{access_token, expires_on (epoch seconds, as text), resource, token_type,
// client_id}`. Here at <base>/msi/token; the identity is one of the seeded clients (the provisioner
// unless `PATCH /_sandbox/config {"managedIdentity": {"clientId": ...}}` says otherwise), so the
// permissions it has are that client's.
import { randomUUID } from 'node:crypto';
import type { Ctx, Reply } from './http';
import { headerValue, json } from './http';
import { MANAGED_IDENTITY_HEADER, findClient } from './seed';
import type { Client } from './types';

/** Issues a token for a client to a resource (sandbox/entra.ts issueFor), or null for an unknown resource. */
export type Issue = (client: Client, resource: string) => Promise<{ token: string; expiresIn: number } | null>;

export const MANAGED_IDENTITY_API_VERSION = '2019-08-01';

function failure(status: number, message: string): Reply {
  return json(status, { statusCode: status, message, correlationId: randomUUID() });
}

/** GET /msi/token as the identity `identityClientId`. */
export async function handleManagedIdentity(ctx: Ctx, identityClientId: string, issue: Issue): Promise<Reply> {
  if (ctx.method !== 'GET') return failure(405, 'The managed identity endpoint answers GET only.');
  if (headerValue(ctx, 'x-identity-header') !== MANAGED_IDENTITY_HEADER) {
    return failure(401, 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.');
  }
  const apiVersion = ctx.query.get('api-version');
  if (apiVersion !== MANAGED_IDENTITY_API_VERSION) {
    return failure(400, `The api-version '${apiVersion ?? ''}' is not supported; use ${MANAGED_IDENTITY_API_VERSION}.`);
  }
  const resource = ctx.query.get('resource');
  if (!resource) return failure(400, "The 'resource' query parameter is required.");
  const client = findClient(identityClientId)!;
  // A user-assigned identity named by client id, object id or resource id must be this one.
  const clientId = ctx.query.get('client_id');
  const principalId = ctx.query.get('principal_id') ?? ctx.query.get('object_id');
  const resourceId = ctx.query.get('mi_res_id');
  if (
    (clientId !== null && clientId !== client.clientId) ||
    (principalId !== null && principalId !== client.servicePrincipalId) ||
    resourceId !== null
  ) {
    return failure(
      400,
      'No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.',
    );
  }
  const issued = await issue(client, resource.replace(/\/\.default$/, ''));
  if (!issued) {
    return failure(400, `AADSTS500011: The resource principal named ${resource} was not found in the tenant.`);
  }
  return json(200, {
    access_token: issued.token,
    expires_on: String(Math.floor(Date.now() / 1000) + issued.expiresIn),
    resource,
    token_type: 'Bearer',
    client_id: client.clientId,
  });
}
