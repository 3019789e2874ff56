// Contract tests of the sandbox's Entra ID client credentials other than secrets, through the real
// @azure/identity credentials: a certificate (ClientCertificateCredential: PS256, x5t#S256; and a
// hand-made RS256 assertion with x5t), a federated token from the sandbox's own issuer
// (WorkloadIdentityCredential with a token file, ClientAssertionCredential) and the App Service
// managed identity endpoint (ManagedIdentityCredential with IDENTITY_ENDPOINT). Then what Entra
// refuses, with its codes: unregistered thumbprint, a signature of another key, expired
// assertions, wrong audiences, an unknown issuer or subject; and the registrations through
// PATCH /_sandbox/config.
import { createHash, createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ClientAssertionCredential,
  ClientCertificateCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { ensureClientCertificate } from '../../sandbox/client-cert';
import { API_SCOPE, GRAPH_SCOPE, caught } from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';

const { sandbox, control } = useSandbox({ reset: true });
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const SUBJECT = 'system:serviceaccount:noninteractive-users:worker';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'niu-entra-credentials-'));
const options = () => ({ authorityHost: sandbox.url, disableInstanceDiscovery: true });

async function tokenRequest(form: Record<string, string>) {
  const res = await fetch(`${sandbox.url}/${sandbox.tenantName}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: GRAPH_SCOPE, ...form }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The token request of a client assertion. */
const withAssertion = (assertion: string, clientId = 'provisioner-client') =>
  tokenRequest({ client_id: clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion });

/** Expects Entra's refusal: status, error, AADSTS code, and the description's start. */
function refused(res: { status: number; body: Record<string, unknown> }, code: number, text: RegExp, status = 401) {
  expect({ status: res.status, error: res.body.error, codes: res.body.error_codes }).toEqual({
    status,
    error: status === 401 ? 'invalid_client' : 'invalid_request',
    codes: [code],
  });
  expect(String(res.body.error_description)).toMatch(new RegExp(`^AADSTS${code}: ${text.source}`));
}

/** A PEM file of a certificate and its key (the provisioner's, seeded, or a stranger's). */
function pem(file: string) {
  const text = readFileSync(file, 'utf8');
  const cert = new X509Certificate(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)![0]);
  const thumb = (alg: string) => createHash(alg).update(cert.raw).digest('base64url');
  return {
    file,
    key: createPrivateKey(text),
    certificate: cert.toString(),
    x5t: thumb('sha1'),
    x5tS256: thumb('sha256'),
  };
}

/** A certificate assertion as the certificate credential builds one; `claims`/`header` override. */
async function certificateAssertion(
  key: ReturnType<typeof pem>['key'],
  header: Record<string, unknown>,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    aud: `${sandbox.url}/${sandbox.tenantId}/oauth2/v2.0/token`,
    iss: 'provisioner-client',
    sub: 'provisioner-client',
    jti: randomUUID(),
    nbf: now,
    exp: now + 600,
    ...claims,
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...header })
    .sign(key);
}

describe('certificate credentials', () => {
  // MSAL signs with PS256 and names the certificate by x5t#S256 (msal-node ClientAssertion).
  test('ClientCertificateCredential with the seeded certificate gets tokens with appidacr 2', async () => {
    const cred = new ClientCertificateCredential(
      sandbox.tenantName,
      'provisioner-client',
      { certificatePath: sandbox.clientCertificateFile },
      options(),
    );
    const graph = decodeJwt((await cred.getToken(GRAPH_SCOPE)).token);
    expect(graph).toMatchObject({ appid: 'provisioner-client', azpacr: '2', aud: 'https://graph.microsoft.com' });
    expect(graph.roles).toEqual(expect.arrayContaining(['User.ReadWrite.All']));
    const api = decodeJwt((await cred.getToken(API_SCOPE)).token);
    expect(api).toMatchObject({ ver: '1.0', appid: 'provisioner-client', appidacr: '2' });
    // What it sent, as the request log saw it: one token request each.
    const log = await control.requests({ service: 'entra', path: 'oauth2/v2.0/token' });
    expect(log.map((r) => [r.status, r.clientId])).toEqual([
      [200, 'provisioner-client'],
      [200, 'provisioner-client'],
    ]);
  });

  test('hand-made assertions: PS256 with x5t#S256, RS256 with the SHA-1 thumbprint (x5t); the v1.0 endpoint as audience', async () => {
    const own = pem(sandbox.clientCertificateFile);
    const pss = await withAssertion(await certificateAssertion(own.key, { alg: 'PS256', 'x5t#S256': own.x5tS256 }));
    expect(pss.status).toBe(200);
    const res = await withAssertion(await certificateAssertion(own.key, { x5t: own.x5t }));
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token as string).azpacr).toBe('2');
    const v1Aud = `${sandbox.url}/${sandbox.tenantName}/oauth2/token`;
    expect((await withAssertion(await certificateAssertion(own.key, { x5t: own.x5t }, { aud: v1Aud }))).status).toBe(
      200,
    );
  });

  test('refusals: unregistered thumbprint, another key, expired, wrong audience, other client, no thumbprint, not a JWT', async () => {
    const own = pem(sandbox.clientCertificateFile);
    const stranger = pem((await ensureClientCertificate(tmp, 'stranger')).file);

    // The real credential with a certificate the app does not have.
    const err = await caught(
      new ClientCertificateCredential(
        sandbox.tenantName,
        'provisioner-client',
        { certificatePath: stranger.file },
        options(),
      ).getToken(GRAPH_SCOPE),
    );
    expect(String(err.message)).toContain('AADSTS700027');
    refused(
      await withAssertion(await certificateAssertion(stranger.key, { 'x5t#S256': stranger.x5tS256, alg: 'PS256' })),
      700027,
      /The certificate with identifier used to sign the client assertion is not registered on application\. \[Reason - The key was not found\., Thumbprint of key used by client: '[0-9A-F]{64}'/,
    );
    // The registered thumbprint, signed by another key.
    refused(
      await withAssertion(await certificateAssertion(stranger.key, { x5t: own.x5t })),
      700027,
      /Client assertion contains an invalid signature\. \[Reason - Key was found, but use of the key to verify the signature failed\./,
    );
    const past = Math.floor(Date.now() / 1000) - 3600;
    refused(
      await withAssertion(await certificateAssertion(own.key, { x5t: own.x5t }, { nbf: past - 600, exp: past })),
      700024,
      /Client assertion is not within its valid time range\. Current time: \S+Z, assertion valid from \S+Z, expiry time of assertion \S+Z\./,
    );
    refused(
      await withAssertion(
        await certificateAssertion(
          own.key,
          { x5t: own.x5t },
          { aud: 'https://login.microsoftonline.com/common/oauth2/v2.0/token' },
        ),
      ),
      700023,
      /Client assertion audience claim does not match Realm issuer\./,
    );
    refused(
      await withAssertion(await certificateAssertion(own.key, { x5t: own.x5t }), 'operator-client'),
      700021,
      /Client assertion application identifier doesn't match 'client_id' parameter\./,
    );
    refused(
      await withAssertion(await certificateAssertion(own.key, {})),
      50027,
      /Invalid JWT token\. No certificate thumbprint specified in token header\./,
    );
    refused(await withAssertion('not-a-jwt'), 50027, /JWT token is invalid or malformed\./);
    refused(
      await tokenRequest({ client_id: 'provisioner-client', client_assertion: 'x' }),
      900144,
      /The request body must contain the following parameter: 'client_assertion_type'\./,
      400,
    );
  });

  test('certificates registered through the control API replace the seeded one until reset', async () => {
    const stranger = pem((await ensureClientCertificate(tmp, 'stranger')).file);
    const config = await control.config({ clients: { 'operator-client': { certificates: [stranger.certificate] } } });
    expect(config.clients['operator-client']!.certificates).toEqual([
      expect.objectContaining({
        thumbprint: expect.stringMatching(/^[0-9A-F]{40}$/),
        subject: expect.stringMatching(/CN=stranger/),
      }),
    ]);
    const operator = new ClientCertificateCredential(
      sandbox.tenantName,
      'operator-client',
      { certificatePath: stranger.file },
      options(),
    );
    expect(decodeJwt((await operator.getToken(API_SCOPE)).token)).toMatchObject({
      appid: 'operator-client',
      roles: ['NonInteractiveUsers.ReadWrite'],
    });
    // The provisioner still has its own; after reset the operator has none again.
    expect((await control.getConfig()).clients['provisioner-client']!.certificates).toHaveLength(1);
    await control.reset();
    const again = new ClientCertificateCredential(
      sandbox.tenantName,
      'operator-client',
      { certificatePath: stranger.file },
      options(),
    );
    expect(String((await caught(again.getToken(API_SCOPE))).message)).toContain('AADSTS700027');
  });

  test('registrations are checked: a private key, a non-certificate, an unknown client or field, a bad federated credential', async () => {
    const own = readFileSync(sandbox.clientCertificateFile, 'utf8');
    const bad = {
      'holds a private key': { 'provisioner-client': { certificates: [own] } },
      'must hold exactly one PEM certificate': { 'provisioner-client': { certificates: ['hello'] } },
      "unknown client 'nobody'": { nobody: { certificates: [] } },
      'clients.provisioner-client.secret is not a setting': { 'provisioner-client': { secret: 'x' } },
      'issuer must be an https URL': {
        'provisioner-client': { federatedCredentials: [{ issuer: 'http://issuer.example', subject: 's' }] },
      },
      'must hold exactly one audience': {
        'provisioner-client': {
          federatedCredentials: [{ issuer: 'https://issuer.example', subject: 's', audiences: ['a', 'b'] }],
        },
      },
      'same issuer and subject': {
        'provisioner-client': {
          federatedCredentials: [
            { issuer: 'https://issuer.example', subject: 's', name: 'one' },
            { issuer: 'https://issuer.example', subject: 's', name: 'two' },
          ],
        },
      },
    };
    for (const [message, clients] of Object.entries(bad)) {
      await expect(control.config({ clients } as never)).rejects.toThrow(message);
    }
    await expect(control.config({ managedIdentity: { clientId: 'nobody' } })).rejects.toThrow(
      /managedIdentity\.clientId/,
    );
    // Nothing of a refused PATCH applies.
    expect((await control.getConfig()).clients['provisioner-client']!.federatedCredentials).toHaveLength(1);
  });
});

describe('federated credentials (workload identity federation)', () => {
  const tokenFile = (token: string) => {
    const file = path.join(tmp, `${randomUUID()}.jwt`);
    writeFileSync(file, token);
    return file;
  };

  test("the federation issuer publishes its metadata and keys; its tokens name the subject and Entra's exchange audience", async () => {
    const doc = (await (await fetch(`${sandbox.federationIssuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string
    >;
    expect(doc.issuer).toBe(sandbox.federationIssuer);
    const keys = (await (await fetch(doc.jwks_uri!)).json()) as { keys: { kid: string }[] };
    const minted = await control.federationToken({ subject: SUBJECT });
    expect(keys.keys.map((k) => k.kid)).toContain(decodeProtectedHeader(minted.token).kid);
    expect(decodeJwt(minted.token)).toMatchObject({
      iss: sandbox.federationIssuer,
      sub: SUBJECT,
      aud: 'api://AzureADTokenExchange',
      exp: minted.expiresOn,
    });
  });

  test('WorkloadIdentityCredential with a token file (option or AZURE_FEDERATED_TOKEN_FILE) and ClientAssertionCredential get tokens', async () => {
    const { token } = await control.federationToken({ subject: SUBJECT });
    const file = tokenFile(token);
    const byOption = new WorkloadIdentityCredential({
      tenantId: sandbox.tenantName,
      clientId: 'provisioner-client',
      tokenFilePath: file,
      ...options(),
    });
    expect(decodeJwt((await byOption.getToken(GRAPH_SCOPE)).token)).toMatchObject({
      appid: 'provisioner-client',
      azpacr: '2',
    });

    const saved = { ...process.env };
    Object.assign(process.env, {
      AZURE_TENANT_ID: sandbox.tenantId,
      AZURE_CLIENT_ID: 'provisioner-client',
      AZURE_FEDERATED_TOKEN_FILE: file,
    });
    try {
      const byEnv = new WorkloadIdentityCredential(options());
      expect(decodeJwt((await byEnv.getToken(API_SCOPE)).token)).toMatchObject({
        appid: 'provisioner-client',
        ver: '1.0',
      });
    } finally {
      process.env = saved;
    }

    const assertion = new ClientAssertionCredential(
      sandbox.tenantName,
      'provisioner-client',
      async () => token,
      options(),
    );
    expect((await assertion.getToken(GRAPH_SCOPE)).token).toEqual(expect.any(String));
  });

  test('a federated credential registered for the operator lets its subject call the API as the operator', async () => {
    await control.config({
      clients: {
        'operator-client': {
          federatedCredentials: [{ issuer: sandbox.federationIssuer, subject: 'repo:contoso/erp:environment:prod' }],
        },
      },
    });
    const { token } = await control.federationToken({ subject: 'repo:contoso/erp:environment:prod' });
    const cred = new ClientAssertionCredential(sandbox.tenantName, 'operator-client', async () => token, options());
    expect(decodeJwt((await cred.getToken(API_SCOPE)).token)).toMatchObject({
      appid: 'operator-client',
      appidacr: '2',
      roles: ['NonInteractiveUsers.ReadWrite'],
    });
  });

  test('refusals: unknown subject, another audience, expired, an issuer not trusted, a forged signature', async () => {
    const minted = async (request: { subject: string; audience?: string; lifetimeSeconds?: number }) =>
      (await control.federationToken(request)).token;

    const err = await caught(
      new WorkloadIdentityCredential({
        tenantId: sandbox.tenantName,
        clientId: 'provisioner-client',
        tokenFilePath: tokenFile(await minted({ subject: 'system:serviceaccount:default:intruder' })),
        ...options(),
      }).getToken(GRAPH_SCOPE),
    );
    expect(String(err.message)).toContain('AADSTS700213');
    refused(
      await withAssertion(await minted({ subject: 'system:serviceaccount:default:intruder' })),
      700213,
      /No matching federated identity record found for presented assertion subject 'system:serviceaccount:default:intruder'\./,
    );
    refused(
      await withAssertion(await minted({ subject: SUBJECT, audience: 'api://something-else' })),
      700212,
      /No matching federated identity record found for presented assertion audience 'api:\/\/something-else'\./,
    );
    refused(
      await withAssertion(await minted({ subject: SUBJECT, lifetimeSeconds: -600 })),
      700024,
      /Client assertion is not within its valid time range\./,
    );
    // A token of an issuer no federated credential of the client names.
    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ sub: SUBJECT, aud: 'api://AzureADTokenExchange' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('https://token.actions.githubusercontent.com')
      .setExpirationTime('10m')
      .sign(privateKey);
    refused(
      await withAssertion(foreign),
      700211,
      /No matching federated identity record found for presented assertion issuer 'https:\/\/token\.actions\.githubusercontent\.com'\./,
    );
    // The sandbox's issuer named, another key signing.
    const forged = await new SignJWT({ sub: SUBJECT, aud: 'api://AzureADTokenExchange' })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(sandbox.federationIssuer)
      .setExpirationTime('10m')
      .sign(privateKey);
    refused(await withAssertion(forged), 700027, /Client assertion failed signature validation\./);
    // The federated token of another client's credential.
    refused(
      await withAssertion(await minted({ subject: SUBJECT }), 'reader-client'),
      700211,
      /No matching federated identity record/,
    );
  });
});

describe('managed identity (App Service endpoint)', () => {
  const saved = { ...process.env };
  beforeAll(() => {
    process.env.IDENTITY_ENDPOINT = sandbox.managedIdentity.endpoint;
    process.env.IDENTITY_HEADER = sandbox.managedIdentity.header;
  });
  afterAll(() => {
    process.env = saved;
  });

  const raw = async (query: Record<string, string>, header: string | null = sandbox.managedIdentity.header) => {
    const res = await fetch(`${sandbox.managedIdentity.endpoint}?${new URLSearchParams(query)}`, {
      headers: header === null ? {} : { 'x-identity-header': header },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test('ManagedIdentityCredential gets tokens as the provisioner by default; the protocol is api-version 2019-08-01', async () => {
    const cred = new ManagedIdentityCredential();
    const token = await cred.getToken(GRAPH_SCOPE);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(decodeJwt(token.token)).toMatchObject({
      appid: 'provisioner-client',
      azpacr: '2',
      aud: 'https://graph.microsoft.com',
      roles: expect.arrayContaining(['User.ReadWrite.All']),
    });
    const res = await raw({ resource: 'https://vault.azure.net', 'api-version': '2019-08-01' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      resource: 'https://vault.azure.net',
      token_type: 'Bearer',
      client_id: 'provisioner-client',
      expires_on: expect.stringMatching(/^\d+$/),
    });
  });

  test('its client id is a setting: as the operator it may call the API', async () => {
    await control.config({ managedIdentity: { clientId: 'operator-client' } });
    expect((await control.getConfig()).managedIdentity).toEqual({ clientId: 'operator-client' });
    // A user-assigned identity named by its client id must be the one the endpoint has.
    const named = new ManagedIdentityCredential('operator-client');
    expect(decodeJwt((await named.getToken(API_SCOPE)).token)).toMatchObject({
      appid: 'operator-client',
      roles: ['NonInteractiveUsers.ReadWrite'],
    });
    const other = new ManagedIdentityCredential('reader-client');
    expect(String((await caught(other.getToken(API_SCOPE))).message)).toMatch(
      /No User Assigned or Delegated Managed Identity found/,
    );
  });

  test('refusals: no or a wrong identity header, another api-version, no resource, an unknown resource', async () => {
    const query = { resource: 'https://graph.microsoft.com', 'api-version': '2019-08-01' };
    expect((await raw(query, null)).status).toBe(401);
    expect((await raw(query, 'guess')).status).toBe(401);
    expect((await raw({ ...query, 'api-version': '2017-09-01' })).status).toBe(400);
    expect((await raw({ 'api-version': '2019-08-01' })).status).toBe(400);
    const unknown = await raw({ ...query, resource: 'https://contoso.example' });
    expect(unknown).toEqual({
      status: 400,
      body: expect.objectContaining({ statusCode: 400, message: expect.stringContaining('AADSTS500011') }),
    });
  });
});
