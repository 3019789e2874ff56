// The worker's credential (config/credential.ts, activities/credential.ts): the kind the standard
// AZURE_* variables choose, exactly one, with what each kind needs; and the Graph client asking
// for the scope of the configured cloud.
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
} from '@azure/identity';
import type { TokenCredential } from '@azure/identity';
import { ConfigError, loadConfig } from '../../config';
import { createCredential, createTokenSource, type TokenSource } from '../../activities/credential';
import { createGraphClient } from '../../activities/graph';
import { configError, deployment, environmentsFile } from '../helpers/config';

const PEM = `${__dirname}/../fixtures/admission.history.json`; // any readable file: read when a token is asked
const SECRET = 'AZURE_CLIENT_SECRET';

/** The worker's configuration outside the sandbox: `deployment()` without its secret, plus `env`. */
function worker(env: Record<string, string>) {
  return loadConfig(deployment({ [SECRET]: '', ...env }), 'worker').microsoft;
}

describe('the kind is chosen by the standard variables', () => {
  test.each([
    ['client-secret', { [SECRET]: 'a-secret' }, ClientSecretCredential],
    ['client-certificate', { AZURE_CLIENT_CERTIFICATE_PATH: PEM }, ClientCertificateCredential],
    ['workload-identity', { AZURE_FEDERATED_TOKEN_FILE: PEM }, WorkloadIdentityCredential],
    ['managed-identity', { AZURE_USE_MANAGED_IDENTITY: 'true' }, ManagedIdentityCredential],
  ])('%s', (kind, env, type) => {
    const m = worker(env);
    expect(m.credential?.kind).toBe(kind);
    expect(createCredential(m.credential!, m.authorityHost)).toBeInstanceOf(type);
  });

  test('each carries its settings: the certificate its password and chain; the managed identity its client id or none', () => {
    expect(
      worker({
        AZURE_CLIENT_CERTIFICATE_PATH: PEM,
        AZURE_CLIENT_CERTIFICATE_PASSWORD: 'pfx-password',
        AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: 'true',
      }).credential,
    ).toEqual({
      kind: 'client-certificate',
      tenantId: '6e1f3b5a-7c2d-4e8f-9a0b-1c2d3e4f5a6b',
      clientId: '0f6b2c1d-3e4f-4a5b-8c7d-9e0f1a2b3c4d',
      certificatePath: expect.stringMatching(/admission\.history\.json$/),
      certificatePassword: 'pfx-password',
      sendCertificateChain: true,
    });
    // A managed identity needs no tenant; AZURE_CLIENT_ID picks a user-assigned one, else the system's.
    const system = worker({ AZURE_USE_MANAGED_IDENTITY: 'true', AZURE_TENANT_ID: '', AZURE_CLIENT_ID: '' });
    expect(system.credential).toEqual({ kind: 'managed-identity', clientId: null });
    expect(worker({ AZURE_USE_MANAGED_IDENTITY: 'true' }).credential).toEqual({
      kind: 'managed-identity',
      clientId: '0f6b2c1d-3e4f-4a5b-8c7d-9e0f1a2b3c4d',
    });
  });

  test('IDENTITY_ENDPOINT alone does not choose the managed identity (App Service sets it for every app with one)', () => {
    expect(
      configError(deployment({ [SECRET]: '', IDENTITY_ENDPOINT: 'http://127.0.0.1:41741/msi/token' }), 'worker'),
    ).toMatch(/AZURE_USE_MANAGED_IDENTITY must be set/);
  });

  test("on the sandbox with none set: the provisioner's secret; another kind set replaces it", () => {
    expect(loadConfig({ NIU_SANDBOX: 'true' }).microsoft.credential).toEqual({
      kind: 'client-secret',
      tenantId: 'contoso.onmicrosoft.com',
      clientId: 'provisioner-client',
      clientSecret: 'provisioner-secret',
    });
    expect(loadConfig({ NIU_SANDBOX: 'true', AZURE_FEDERATED_TOKEN_FILE: PEM }).microsoft.credential).toMatchObject({
      kind: 'workload-identity',
      clientId: 'provisioner-client',
    });
  });
});

describe('refused at start, naming the variables', () => {
  test.each([
    [
      'a secret and a certificate',
      { [SECRET]: 'a-secret', AZURE_CLIENT_CERTIFICATE_PATH: PEM },
      'AZURE_CLIENT_SECRET and AZURE_CLIENT_CERTIFICATE_PATH are both set: set exactly one credential ' +
        '(a secret, a certificate, a federated token file or a managed identity)',
    ],
    [
      'three kinds',
      { AZURE_FEDERATED_TOKEN_FILE: PEM, AZURE_USE_MANAGED_IDENTITY: 'yes', [SECRET]: 's' },
      'AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE and AZURE_USE_MANAGED_IDENTITY are all set: set exactly one ' +
        'credential (a secret, a certificate, a federated token file or a managed identity)',
    ],
    [
      'a certificate password without the certificate',
      { AZURE_CLIENT_CERTIFICATE_PASSWORD: 'pfx-password' },
      'AZURE_CLIENT_CERTIFICATE_PASSWORD is set but AZURE_CLIENT_CERTIFICATE_PATH is not',
    ],
    [
      'the certificate chain without the certificate',
      { [SECRET]: 's', AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: '1' },
      'AZURE_CLIENT_SEND_CERTIFICATE_CHAIN is set but AZURE_CLIENT_CERTIFICATE_PATH is not',
    ],
    [
      'no credential',
      {},
      'AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE or AZURE_USE_MANAGED_IDENTITY ' +
        'must be set: the worker needs a credential towards Microsoft (docs/configuration.md)',
    ],
    [
      'no tenant',
      { AZURE_FEDERATED_TOKEN_FILE: PEM, AZURE_TENANT_ID: '' },
      "AZURE_TENANT_ID is not set: the worker's workload-identity credential needs it",
    ],
    [
      'no client id',
      { [SECRET]: 's', AZURE_CLIENT_ID: '' },
      "AZURE_CLIENT_ID is not set: the worker's client-secret credential needs it",
    ],
    [
      'an unreadable certificate',
      { AZURE_CLIENT_CERTIFICATE_PATH: '/nonexistent/worker.pem' },
      'AZURE_CLIENT_CERTIFICATE_PATH cannot be read: ENOENT',
    ],
  ])('%s', (_label, env, message) => {
    expect(configError(deployment({ [SECRET]: '', ...env }), 'worker')).toMatch(
      new RegExp(`^Configuration error: ${message.replace(/[()[\]{}.*+?^$|\\]/g, '\\$&')}`),
    );
  });

  test('two kinds are a misconfiguration of every process, also on the sandbox', () => {
    const both = { [SECRET]: 's', AZURE_USE_MANAGED_IDENTITY: 'true' };
    expect(configError(deployment(both), 'api')).toMatch(/are both set/);
    expect(configError({ NIU_SANDBOX: 'true', ...both })).toMatch(/are both set/);
  });

  test('the API needs no credential; asking for its token source names what to set', () => {
    const api = loadConfig(deployment({ [SECRET]: '', AZURE_TENANT_ID: '', AZURE_CLIENT_ID: '' }), 'api');
    expect(api.microsoft.credential).toBeNull();
    expect(() => createTokenSource(api)).toThrow(ConfigError);
    expect(() => createTokenSource(api)).toThrow(/AZURE_USE_MANAGED_IDENTITY must be set/);
  });
});

test("the Graph client asks for the .default scope of the configured cloud's Graph", async () => {
  const asked: string[] = [];
  const credential: TokenCredential = {
    getToken: async (scopes) => {
      asked.push(...[scopes].flat());
      throw new Error('no token in this test');
    },
  };
  const tokens: TokenSource = { credential, token: () => Promise.reject(new Error('unused')) };
  for (const [cloud, url] of [
    ['usgovernment', 'https://contoso.crm.microsoftdynamics.us'],
    ['china', 'https://contoso.crm.dynamics.cn'],
  ]) {
    const config = loadConfig(deployment({ AZURE_CLOUD: cloud!, ENVIRONMENTS_FILE: environmentsFile(url!) }), 'worker');
    await expect(createGraphClient(config, tokens).api('/users').get()).rejects.toThrow('no token in this test');
  }
  expect(asked).toEqual(['https://graph.microsoft.us/.default', 'https://microsoftgraph.chinacloudapi.cn/.default']);
});
