// Contract tests of the sandbox's Entra ID: the real @azure/identity ClientSecretCredential
// (authorityHost + disableInstanceDiscovery) gets tokens; wrong secrets, unknown clients and
// bad scopes fail with Entra's errors; tokens verify against the published keys with the
// claims the services and the API rely on.
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { API_SCOPE, GRAPH_SCOPE, caught, credential, dataverseUrl } from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';

const { sandbox, control } = useSandbox({ reset: true });

async function openIdConfig(tenant: string) {
  const res = await fetch(`${sandbox.url}/${tenant}/v2.0/.well-known/openid-configuration`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function tokenRequest(form: Record<string, string>, tenant = 'contoso.onmicrosoft.com') {
  const res = await fetch(`${sandbox.url}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('OpenID metadata', () => {
  test('is served for the tenant name and the tenant GUID, with the GUID issuer', async () => {
    const byName = await openIdConfig('contoso.onmicrosoft.com');
    const byId = await openIdConfig(sandbox.tenantId);
    expect(byName.status).toBe(200);
    expect(byId.body).toEqual(byName.body);
    expect(byName.body.issuer).toBe(`${sandbox.url}/${sandbox.tenantId}/v2.0`);
    expect(byName.body.token_endpoint).toBe(`${sandbox.url}/${sandbox.tenantId}/oauth2/v2.0/token`);
    expect(byName.body.jwks_uri).toBe(`${sandbox.url}/${sandbox.tenantId}/discovery/v2.0/keys`);
  });

  test('an unknown tenant is AADSTS90002 invalid_tenant', async () => {
    const res = await openIdConfig('fabrikam.onmicrosoft.com');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_tenant');
    expect(res.body.error_codes).toEqual([90002]);
  });
});

describe('client credentials through ClientSecretCredential', () => {
  test('issues an RS256 token for Graph that verifies against the published keys', async () => {
    const token = await credential(sandbox).getToken(GRAPH_SCOPE);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(decodeProtectedHeader(token.token).alg).toBe('RS256');
    const oidc = (await openIdConfig('contoso.onmicrosoft.com')).body;
    const jwks = createRemoteJWKSet(new URL(oidc.jwks_uri as string));
    const { payload } = await jwtVerify(token.token, jwks, {
      issuer: oidc.issuer as string,
      audience: 'https://graph.microsoft.com',
    });
    expect(payload).toMatchObject({
      tid: sandbox.tenantId,
      appid: 'provisioner-client',
      azp: 'provisioner-client',
      ver: '2.0',
      idtyp: 'app',
    });
    expect(payload.roles).toEqual(expect.arrayContaining(['User.ReadWrite.All', 'LicenseAssignment.ReadWrite.All']));
    expect(typeof payload.exp).toBe('number');
  });

  test('works with the tenant GUID as well as the name', async () => {
    const token = await credential(sandbox, 'provisioner-client', undefined, sandbox.tenantId).getToken(GRAPH_SCOPE);
    expect(decodeJwt(token.token).tid).toBe(sandbox.tenantId);
  });

  test('the audience is the requested resource: Dataverse environment URL, admin API, vault, the API', async () => {
    const cred = credential(sandbox);
    const env = dataverseUrl(sandbox, 'contoso-prod');
    expect(decodeJwt((await cred.getToken(`${env}/.default`)).token).aud).toBe(env);
    expect(decodeJwt((await cred.getToken('https://service.powerapps.com/.default')).token).aud).toBe(
      'https://service.powerapps.com',
    );
    expect(decodeJwt((await cred.getToken('https://vault.azure.net/.default')).token).aud).toBe(
      'https://vault.azure.net',
    );
    const operator = decodeJwt((await credential(sandbox, 'operator-client').getToken(API_SCOPE)).token);
    expect(operator.aud).toBe('api://noninteractive-users');
    expect(operator.roles).toEqual(['NonInteractiveUsers.ReadWrite']);
    const reader = decodeJwt((await credential(sandbox, 'reader-client').getToken(API_SCOPE)).token);
    expect(reader.roles).toEqual(['NonInteractiveUsers.Read']);
  });

  test('a client without app roles for a resource gets a token without a roles claim', async () => {
    const token = decodeJwt((await credential(sandbox, 'operator-client').getToken(GRAPH_SCOPE)).token);
    expect(token.aud).toBe('https://graph.microsoft.com');
    expect(token.roles).toBeUndefined();
  });

  test('a wrong secret fails with 401 invalid_client AADSTS7000215', async () => {
    const err = await caught(credential(sandbox, 'provisioner-client', 'not-the-secret').getToken(GRAPH_SCOPE));
    // @azure/identity wraps MSAL's ServerError (as it does against the real Entra ID).
    expect(err.name).toBe('AuthenticationRequiredError');
    expect(String(err.message)).toContain('AADSTS7000215');
    expect((err.cause as { errorCode?: string }).errorCode).toBe('invalid_client');
    const raw = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: 'provisioner-client',
      client_secret: 'not-the-secret',
      scope: GRAPH_SCOPE,
    });
    expect(raw.status).toBe(401);
    expect(raw.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
    expect(raw.body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided/);
    expect(raw.body.trace_id).toEqual(expect.any(String));
    expect(raw.body.correlation_id).toEqual(expect.any(String));
  });

  test('an unknown client is AADSTS700016 unauthorized_client', async () => {
    const err = await caught(credential(sandbox, 'nobody', 'x').getToken(GRAPH_SCOPE));
    expect(String(err.message)).toContain('AADSTS700016');
    const raw = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: 'nobody',
      client_secret: 'x',
      scope: GRAPH_SCOPE,
    });
    expect(raw.status).toBe(400);
    expect(raw.body).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
  });

  test('a scope without /.default and an unknown resource are rejected', async () => {
    const base = {
      grant_type: 'client_credentials',
      client_id: 'provisioner-client',
      client_secret: 'provisioner-secret',
    };
    const noDefault = await tokenRequest({ ...base, scope: 'https://graph.microsoft.com/User.Read.All' });
    expect(noDefault.status).toBe(400);
    expect(noDefault.body).toMatchObject({ error: 'invalid_scope', error_codes: [1002012] });
    const unknown = await tokenRequest({ ...base, scope: 'https://contoso.example/.default' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ error: 'invalid_resource', error_codes: [500011] });
    const otherEnv = await tokenRequest({ ...base, scope: `${sandbox.url}/dataverse/contoso-dev/.default` });
    expect(otherEnv.body.error).toBe('invalid_resource');
  });

  test('other grant types are unsupported_grant_type', async () => {
    const res = await tokenRequest({
      grant_type: 'password',
      client_id: 'provisioner-client',
      username: 'u',
      password: 'p',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'unsupported_grant_type', error_codes: [70003] });
  });

  test('the token lifetime follows the tokenLifetimeSeconds setting', async () => {
    await control.config({ tokenLifetimeSeconds: 120 });
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      client_id: 'reader-client',
      client_secret: 'reader-secret',
      scope: API_SCOPE,
    });
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 120 });
    const claims = decodeJwt(res.body.access_token as string);
    expect(claims.exp! - claims.iat!).toBe(120);
  });
});
