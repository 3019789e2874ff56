// The declaration of the environment variables (config/variables.ts): .env.example lists
// exactly the declared variables with their defaults, defaults may name other variables, and
// each kind of bad value gets a message naming the variable, what was expected and what was got.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, describeVariables, loadConfig, parseEnvironments, sandboxEnvironments } from '../../config';

/** The configuration on the sandbox (NIU_SANDBOX=true) with `env`. */
const onSandbox = (env: Record<string, string> = {}) => loadConfig({ NIU_SANDBOX: 'true', ...env });

/** The error `fn` throws (undefined if none). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('.env.example', () => {
  const lines = readFileSync(path.join(__dirname, '../../.env.example'), 'utf8').split('\n');
  const listed = lines.flatMap((line) => {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    return m ? [{ name: m[2]!, commented: m[1] !== undefined, value: m[3]! }] : [];
  });
  const declared = describeVariables();

  test('lists every declared variable once, and nothing undeclared', () => {
    expect(listed.map((e) => e.name).sort()).toEqual(declared.map((v) => v.name).sort());
  });

  test('sets each variable that has a default to it, and comments out the others', () => {
    const shown = (name: string) => listed.find((e) => e.name === name);
    expect(
      declared.map(({ name }) => {
        const entry = shown(name);
        return { name, commented: entry?.commented, value: entry?.commented ? null : entry?.value };
      }),
    ).toEqual(declared.map(({ name, defaultText }) => ({ name, commented: defaultText === null, value: defaultText })));
  });
});

describe('the declaration', () => {
  test('every variable has a description and says what its value must be', () => {
    for (const v of describeVariables()) {
      expect(v.description).not.toBe('');
      expect(v.expected).not.toBe('valid');
    }
  });

  test('a default naming other variables follows them', () => {
    const config = onSandbox({ API_HOST: '0.0.0.0', API_PORT: '8080', AZURE_AUTHORITY_HOST: 'https://login.test/' });
    expect(config.api.publicUrl).toBe('http://0.0.0.0:8080');
    expect(config.api.openIdConfigUrl).toBe(
      'https://login.test/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration',
    );
    expect(describeVariables().find((v) => v.name === 'API_PUBLIC_URL')).toMatchObject({
      default: 'http://${API_HOST}:${API_PORT}',
      defaultText: 'http://127.0.0.1:3000',
    });
  });

  test('an empty variable counts as unset', () => {
    expect(onSandbox({ API_PORT: '', KEYVAULT_URL: '' })).toMatchObject({ api: { port: 3000 } });
    expect(onSandbox({ KEYVAULT_URL: '' }).microsoft.keyVaultUrl).toBeNull();
  });

  test.each([
    ['API_PORT', '3000.5', 'API_PORT must be a whole number, got "3000.5"'],
    ['API_PORT', '70000', 'API_PORT must be between 0 and 65535, got 70000'],
    [
      'TEMPORAL_CONNECT_TIMEOUT_MS',
      '99',
      'TEMPORAL_CONNECT_TIMEOUT_MS must be between 100 and 9007199254740991, got 99',
    ],
    [
      'KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION',
      'maybe',
      'KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION must be true or false, got "maybe"',
    ],
    ['KEYVAULT_URL', 'ftp://vault.test', 'KEYVAULT_URL must be an http(s) URL, got "ftp://vault.test"'],
    ['SANDBOX_URL', 'not a url', 'SANDBOX_URL must be an http(s) URL, got "not a url"'],
    ['WORKFLOW_TIMING', '[1]', 'WORKFLOW_TIMING must be a JSON object, got "[1]"'],
    [
      'WORKFLOW_TIMING',
      '{"verifySettleMS": 5}',
      'WORKFLOW_TIMING has an unknown field "verifySettleMS" (known: syncTimeoutMs, syncPollInitialMs, syncPollMaxMs, ' +
        'forceSyncWindowMs, forceSyncIntervalMs, verifySettleMs, verifyMaxReapply, retryMaxIntervalMs, stepRetryWindowMs)',
    ],
    [
      'WORKFLOW_TIMING',
      '{"verifySettleMs": -5}',
      'WORKFLOW_TIMING field "verifySettleMs" must be a non-negative number, got -5',
    ],
    [
      'API_TRUST_PROXY',
      '10.0.0.1, proxy.local, 10.0.0.0/33',
      'API_TRUST_PROXY must be true, a hop count, or proxy addresses or CIDR ranges, got "proxy.local", "10.0.0.0/33"',
    ],
    [
      'WORKER_WORKFLOW_BUNDLE',
      'no/such/bundle.js',
      /^Configuration error: WORKER_WORKFLOW_BUNDLE cannot be read: ENOENT/,
    ],
  ])('%s=%s is refused', (name, value, message) => {
    const error = thrown(() => onSandbox({ [name]: value }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(name);
    if (typeof message === 'string') expect((error as Error).message).toBe(`Configuration error: ${message}`);
    else expect((error as Error).message).toMatch(message);
  });

  test('WORKFLOW_TIMING gives the workflow the fields it sets', () => {
    expect(onSandbox({ WORKFLOW_TIMING: '{"verifySettleMs": 5000}' }).workflowTiming).toEqual({
      verifySettleMs: 5000,
    });
    expect(onSandbox().workflowTiming).toBeNull();
  });
});

describe('the environments file schema', () => {
  const valid = () =>
    sandboxEnvironments('https://example.test').environments[0]! as unknown as Record<string, unknown>;
  const file = (...environments: Record<string, unknown>[]) => JSON.stringify({ environments });
  const where = 'Configuration error: ENVIRONMENTS_FILE (envs.json)';

  test.each([
    [
      'a bad field of the second entry',
      file(valid(), { ...valid(), name: 'contoso-dev', usageLocation: 'usa' }),
      `${where} environments[1] field "usageLocation" must be an ISO 3166 alpha-2 code, got "usa"`,
    ],
    [
      'a missing field',
      file({ ...valid(), licenseSku: undefined }),
      `${where} environments[0] needs field "licenseSku" (a non-empty string)`,
    ],
    [
      'one bad item of a list',
      file({ ...valid(), allowedUpnDomains: ['contoso.com', 7] }),
      `${where} environments[0] field "allowedUpnDomains" must be a non-empty array of domain names, got ["contoso.com",7]`,
    ],
    [
      'an entry that is not an object',
      file(valid(), 'contoso-test' as unknown as Record<string, unknown>),
      `${where} environments[1] must be a JSON object, got "contoso-test"`,
    ],
    ['no environments array', '{"environment": []}', `${where} must contain a non-empty "environments" array`],
  ])('%s is refused with the index and the field', (_label, text, message) => {
    const error = thrown(() => parseEnvironments(text, 'envs.json'));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(message);
  });

  test('optional fields get their defaults; null lists of roles count as none', () => {
    const {
      powerPlatformEnvironmentId: _id,
      securityGroupId: _group,
      passwordExpires: _expires,
      businessUnit: _bu,
      nonInteractiveLimit: _limit,
      ...rest
    } = valid();
    const [env] = parseEnvironments(file({ ...rest, defaultSecurityRoles: null }), 'envs.json');
    expect(env).toMatchObject({
      powerPlatformEnvironmentId: null,
      securityGroupId: null,
      passwordExpires: false,
      auditRepair: false,
      defaultSecurityRoles: [],
      businessUnit: null,
      nonInteractiveLimit: null,
    });
  });
});
