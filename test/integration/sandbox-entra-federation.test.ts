// Contract tests of the sandbox's Entra ID credentials without a secret or certificate, through
// the real @azure/identity credentials: a federated token from the sandbox's own issuer
// (WorkloadIdentityCredential with a token file, ClientAssertionCredential) and the App Service
// managed identity endpoint (ManagedIdentityCredential with IDENTITY_ENDPOINT); and what Entra
// refuses, with its codes (an unknown issuer or subject, another audience, an expired token).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClientAssertionCredential, ManagedIdentityCredential, WorkloadIdentityCredential } from '@azure/identity';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { API_SCOPE, GRAPH_SCOPE, caught } from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';
import { SUBJECT, entraOf, refused } from '../helpers/entra-credentials';

const { sandbox, control } = useSandbox({ reset: true });
const { options, withAssertion } = entraOf(sandbox);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'niu-entra-credentials-'));

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
