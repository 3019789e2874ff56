// Fail closed (config/required.ts): outside the sandbox nothing defaults to it, and a process that
// lacks a setting it needs is refused naming the first one missing; NIU_SANDBOX=true, and only
// it, brings the sandbox's defaults back.
import { describeVariables, loadConfig } from '../../config';
import { configError, deployment } from '../helpers/config';

const missing = (name: string, process: string) =>
  `Configuration error: ${name} is not set, and ${process} needs it: nothing defaults to the sandbox unless NIU_SANDBOX=true (docs/configuration.md)`;

/** The messages met while the settings of `order` are given one by one, ending with null (it loads). */
function walk(role: 'worker' | 'api' | 'all', order: string[][]): (string | null)[] {
  const full = deployment();
  const given: Record<string, string> = {};
  const messages: (string | null)[] = [configError(given, role)];
  for (const names of order) {
    for (const name of names) given[name] = full[name]!;
    messages.push(configError(given, role));
  }
  return messages;
}

test('the worker needs AZURE_CLOUD, a credential (with its tenant and client id) and ENVIRONMENTS_FILE, in that order', () => {
  expect(
    walk('worker', [
      ['AZURE_CLOUD'],
      ['AZURE_CLIENT_SECRET'],
      ['AZURE_TENANT_ID'],
      ['AZURE_CLIENT_ID'],
      ['ENVIRONMENTS_FILE'],
    ]),
  ).toEqual([
    missing('AZURE_CLOUD', 'the worker'),
    expect.stringMatching(/^Configuration error: AZURE_CLIENT_SECRET, .* or AZURE_USE_MANAGED_IDENTITY must be set/),
    "Configuration error: AZURE_TENANT_ID is not set: the worker's client-secret credential needs it",
    "Configuration error: AZURE_CLIENT_ID is not set: the worker's client-secret credential needs it",
    missing('ENVIRONMENTS_FILE', 'the worker'),
    null,
  ]);
});

test('the API needs its token settings and ENVIRONMENTS_FILE, no Microsoft credential and no cloud', () => {
  expect(walk('api', [['AUTH_OPENID_CONFIG_URL'], ['AUTH_AUDIENCE'], ['ENVIRONMENTS_FILE']])).toEqual([
    missing('AUTH_OPENID_CONFIG_URL', 'the API'),
    missing('AUTH_AUDIENCE', 'the API'),
    missing('ENVIRONMENTS_FILE', 'the API'),
    null,
  ]);
  const api = loadConfig(
    {
      AUTH_OPENID_CONFIG_URL: deployment().AUTH_OPENID_CONFIG_URL!,
      AUTH_AUDIENCE: 'api://niu',
      ENVIRONMENTS_FILE: deployment().ENVIRONMENTS_FILE!,
    },
    'api',
  );
  // v2.0 tokens are refused until AUTH_CLIENT_ID names the API's app: no sandbox app id stands in.
  expect(api.api).toMatchObject({ audience: 'api://niu', clientId: null });
  expect(api.microsoft.credential).toBeNull();
});

test("without a role (loadConfig's default) every requirement of the worker and the API applies", () => {
  expect(
    walk('all', [
      ['AZURE_CLOUD', 'AZURE_CLIENT_SECRET', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'ENVIRONMENTS_FILE'],
      ['AUTH_OPENID_CONFIG_URL', 'AUTH_AUDIENCE'],
    ]),
  ).toEqual([missing('AZURE_CLOUD', 'the worker'), missing('AUTH_OPENID_CONFIG_URL', 'the API'), null]);
});

test('the sandbox and the command-line client need nothing, and still get no sandbox default', () => {
  for (const role of ['sandbox', 'cli'] as const) {
    const config = loadConfig({}, role);
    expect(config.sandbox).toMatchObject({ enabled: false, url: 'https://127.0.0.1:4443' });
    expect(config.microsoft).toMatchObject({
      cloudSet: false,
      tenantId: null,
      clientId: null,
      credential: null,
      authorityHost: 'https://login.microsoftonline.com',
      graphBaseUrl: 'https://graph.microsoft.com',
      powerPlatformBaseUrl: 'https://api.bap.microsoft.com',
      keyVaultDisableChallengeResourceVerification: false,
    });
    expect(config.api).toMatchObject({ openIdConfigUrl: null, audience: null, clientId: null });
    expect(config.environments).toEqual([]);
  }
});

test('NIU_SANDBOX=true is the opt-in, whatever NODE_ENV says; it gives every sandbox default', () => {
  expect(configError({ NODE_ENV: 'test' }, 'worker')).toBe(missing('AZURE_CLOUD', 'the worker'));
  expect(configError({ NODE_ENV: 'production', NIU_SANDBOX: 'false' }, 'api')).toBe(
    missing('AUTH_OPENID_CONFIG_URL', 'the API'),
  );
  const config = loadConfig({ NODE_ENV: 'production', NIU_SANDBOX: 'true' }, 'worker');
  expect(config.sandbox.enabled).toBe(true);
  expect(config.microsoft).toMatchObject({
    cloud: 'public',
    authorityHost: 'https://127.0.0.1:4443',
    credential: { kind: 'client-secret', clientId: 'provisioner-client' },
    keyVaultDisableChallengeResourceVerification: true,
  });
  expect(config.api).toMatchObject({
    audience: 'api://noninteractive-users',
    clientId: '5f3c2a1e-8d4b-4c7a-9e6f-0b1d2c3e4f50',
  });
  expect(config.environments.map((e) => e.name)).toEqual(['contoso-prod', 'contoso-test']);
  expect(configError({ NIU_SANDBOX: 'maybe' })).toBe(
    'Configuration error: NIU_SANDBOX must be true or false, got "maybe"',
  );
});

test("the declaration says which defaults are the sandbox's and which process needs what", () => {
  const described = Object.fromEntries(describeVariables().map((v) => [v.name, v]));
  expect(described.AZURE_AUTHORITY_HOST).toMatchObject({
    defaultText: null,
    sandboxText: 'https://127.0.0.1:4443',
    requiredBy: [],
  });
  expect(described.AZURE_CLOUD).toMatchObject({ defaultText: null, sandboxText: 'public', requiredBy: ['worker'] });
  expect(described.ENVIRONMENTS_FILE).toMatchObject({ defaultText: null, requiredBy: ['worker', 'api'] });
  expect(described.AUTH_AUDIENCE).toMatchObject({ sandboxText: 'api://noninteractive-users', requiredBy: ['api'] });
  expect(described.KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION).toMatchObject({
    defaultText: 'false',
    sandboxText: 'true',
  });
  // No endpoint, identity or audience defaults to the sandbox outside it.
  const sandboxOnly = Object.values(described).filter((v) => v.defaultText?.includes('127.0.0.1:4443'));
  expect(sandboxOnly.map((v) => v.name)).toEqual(['SANDBOX_URL']);
});
