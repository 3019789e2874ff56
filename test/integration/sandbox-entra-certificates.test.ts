// Contract tests of the sandbox's Entra ID certificate credentials, through the real
// @azure/identity ClientCertificateCredential (PS256, x5t#S256) and hand-made RS256 assertions
// (x5t); what Entra refuses, with its codes (unregistered thumbprint, a signature of another key,
// expired assertions, wrong audiences); and the registrations through PATCH /_sandbox/config.
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ClientCertificateCredential } from '@azure/identity';
import { decodeJwt } from 'jose';
import { ensureClientCertificate } from '../../sandbox/client-cert';
import { API_SCOPE, GRAPH_SCOPE, caught } from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';
import { entraOf, pem, refused } from '../helpers/entra-credentials';

const { sandbox, control } = useSandbox({ reset: true });
const { options, tokenRequest, withAssertion, certificateAssertion } = entraOf(sandbox);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'niu-entra-credentials-'));

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
