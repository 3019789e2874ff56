// The worker on each credential kind other than the secret (config/credential.ts), end to end: a
// provisioning request succeeds, its password goes to the vault, and every token came the way
// the kind gets them: a certificate-signed assertion (the sandbox's seeded provisioner
// certificate), a federated token from the sandbox's issuer in a token file, or the managed
// identity endpoint in App Service's protocol (IDENTITY_ENDPOINT, IDENTITY_HEADER).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { createTokenSource } from '../../activities/credential';
import { useSandbox } from '../helpers/lifecycle';
import {
  FAST_SYNC,
  provisionInput,
  sandboxView,
  startProvision,
  startTestWorker,
  testTaskQueue,
  type TestWorker,
} from '../helpers/worker';

const { sandbox, control } = useSandbox({ reset: FAST_SYNC });

/** The worker on the sandbox with `env`, its passwords kept in the sandbox's vault. */
function useWorker(name: string, env: () => Promise<Record<string, string>>): { current: TestWorker } {
  const ref = {} as { current: TestWorker };
  beforeAll(async () => {
    ref.current = await startTestWorker({
      sandboxUrl: sandbox.url,
      taskQueue: testTaskQueue(name),
      env: { KEYVAULT_URL: sandbox.url, ...(await env()) },
    });
  });
  afterAll(() => ref.current?.stop());
  return ref;
}

/** A file with a token of the sandbox's issuer for the subject its seeded federated credential names (sandbox/README.md). */
async function federatedTokenFile(): Promise<string> {
  const { token } = await control.federationToken({ subject: 'system:serviceaccount:noninteractive-users:worker' });
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'niu-federated-')), 'token');
  writeFileSync(file, token);
  return file;
}

/** Provisions `upn` with `tw` (the request log cleared first) and checks the outcome in the sandbox. */
async function provisions(tw: TestWorker, upn: string): Promise<void> {
  await control.clearRequests();
  const handle = await startProvision(tw, provisionInput(upn));
  const result = await handle.result();
  expect(result.accessMode).toBe('non-interactive');
  expect(result.passwordSecretId).toMatch(new RegExp(`^${sandbox.url}/secrets/niu-`));
  const su = sandboxView(await control.state()).systemUser('contoso-prod', result.entraObjectId);
  expect(su?.accessmode).toBe(4);
}

/** The token requests the sandbox saw: how many at the token endpoint, and the resources asked of the identity endpoint. */
async function tokenRequests(): Promise<{ tokenEndpoint: number; managedIdentity: string[] }> {
  const log = await control.requests({ service: 'entra' });
  const resources = log
    .filter((r) => r.path.startsWith('/msi/token'))
    .map((r) => new URLSearchParams(r.path.split('?')[1]).get('resource') ?? '');
  return {
    tokenEndpoint: log.filter((r) => r.path.includes('/oauth2/v2.0/token')).length,
    managedIdentity: [...new Set(resources)].sort(),
  };
}

/** Where the tokens of a request came from: Graph, Dataverse and Key Vault at least, one place only. */
async function signedIn(): Promise<string> {
  const { tokenEndpoint, managedIdentity } = await tokenRequests();
  if (tokenEndpoint >= 3 && managedIdentity.length === 0) return 'at the token endpoint';
  return JSON.stringify({ tokenEndpoint, managedIdentity });
}

/** The claims of a Graph token of the worker's credential (a new instance from the same configuration). */
async function graphClaims(tw: TestWorker) {
  return decodeJwt(await createTokenSource(tw.config).token('https://graph.microsoft.com'));
}

describe.each([
  [
    'a client certificate (AZURE_CLIENT_CERTIFICATE_PATH)',
    'client-certificate',
    async () => ({ AZURE_CLIENT_CERTIFICATE_PATH: sandbox.clientCertificateFile }),
  ],
  [
    'a federated token file (AZURE_FEDERATED_TOKEN_FILE)',
    'workload-identity',
    async () => ({ AZURE_FEDERATED_TOKEN_FILE: await federatedTokenFile() }),
  ],
])('%s', (_title, kind, env) => {
  const tw = useWorker(`cred-${kind}`, env);

  test('provisions, signing in at the token endpoint with an assertion', async () => {
    expect(tw.current.config.microsoft.credential?.kind).toBe(kind);
    await provisions(tw.current, `svc-${kind}@contoso.onmicrosoft.com`);
    expect(await signedIn()).toBe('at the token endpoint');
    // appidacr/azpacr 2: a certificate or a federated assertion, not a secret (1).
    expect(await graphClaims(tw.current)).toMatchObject({ appid: 'provisioner-client', azpacr: '2' });
  });
});

describe('a managed identity (AZURE_USE_MANAGED_IDENTITY, App Service endpoint)', () => {
  const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };
  beforeAll(() => {
    // The platform's variables, read by the identity library itself.
    process.env.IDENTITY_ENDPOINT = sandbox.managedIdentity.endpoint;
    process.env.IDENTITY_HEADER = sandbox.managedIdentity.header;
  });
  afterAll(() => {
    for (const [name, value] of [
      ['IDENTITY_ENDPOINT', saved.endpoint],
      ['IDENTITY_HEADER', saved.header],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const tw = useWorker('cred-msi', async () => ({ AZURE_USE_MANAGED_IDENTITY: 'true' }));

  test('provisions with tokens from the identity endpoint only', async () => {
    expect(tw.current.config.microsoft.credential).toEqual({
      kind: 'managed-identity',
      clientId: 'provisioner-client',
    });
    await provisions(tw.current, 'svc-cred-msi@contoso.onmicrosoft.com');
    // Graph, Dataverse and Key Vault at least (the admin API only if the sync was forced).
    const { tokenEndpoint, managedIdentity } = await tokenRequests();
    expect(tokenEndpoint).toBe(0);
    expect(managedIdentity).toEqual(
      expect.arrayContaining([
        `${sandbox.url}/dataverse/contoso-prod`,
        'https://graph.microsoft.com',
        'https://vault.azure.net',
      ]),
    );
  });
});
