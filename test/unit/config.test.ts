import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseEnvironments, sandboxEnvironments } from '../../config';

/** The configuration on the sandbox (NIU_SANDBOX=true) with `env`. */
const onSandbox = (env: Record<string, string> = {}) => loadConfig({ NIU_SANDBOX: 'true', ...env });

describe('loadConfig', () => {
  test('with NIU_SANDBOX=true and nothing else set, everything points at the sandbox on its default port', () => {
    const config = onSandbox();
    expect(config.sandbox.url).toBe('https://127.0.0.1:4443');
    expect(config.microsoft.authorityHost).toBe('https://127.0.0.1:4443');
    expect(config.microsoft.graphBaseUrl).toBe('https://127.0.0.1:4443');
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.temporal.taskQueue).toBe('noninteractive-users');
    expect(config.api.port).toBe(3000);
    expect(config.api.openIdConfigUrl).toBe(
      'https://127.0.0.1:4443/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration',
    );
    expect(config.environments.map((e) => e.name)).toEqual(['contoso-prod', 'contoso-test']);
    expect(config.environments[0]?.dataverseUrl).toBe('https://127.0.0.1:4443/dataverse/contoso-prod');
  });

  test('the workflow cache holds 256 runs unless WORKER_MAX_CACHED_WORKFLOWS says otherwise', () => {
    expect(onSandbox().worker.maxCachedWorkflows).toBe(256);
    expect(onSandbox({ WORKER_MAX_CACHED_WORKFLOWS: '500' }).worker.maxCachedWorkflows).toBe(500);
  });

  test('API_TRUST_PROXY: off unless set; true, a hop count, or addresses and ranges', () => {
    expect(onSandbox().api.trustProxy).toBe(false);
    expect(onSandbox({ API_TRUST_PROXY: 'true' }).api.trustProxy).toBe(true);
    expect(onSandbox({ API_TRUST_PROXY: '2' }).api.trustProxy).toBe(2);
    expect(onSandbox({ API_TRUST_PROXY: '10.0.0.0/8, ::1, loopback' }).api.trustProxy).toEqual([
      '10.0.0.0/8',
      '::1',
      'loopback',
    ]);
  });

  test('SANDBOX_URL moves every Microsoft endpoint with it', () => {
    const config = onSandbox({ SANDBOX_URL: 'https://127.0.0.1:5555/' });
    expect(config.microsoft.powerPlatformBaseUrl).toBe('https://127.0.0.1:5555');
    expect(config.environments[1]?.dataverseUrl).toBe('https://127.0.0.1:5555/dataverse/contoso-test');
  });

  test.each([
    ['API_PORT', 'abc', /API_PORT must be a whole number/],
    ['API_PORT', '70000', /API_PORT must be between 0 and 65535/],
    ['GRAPH_BASE_URL', 'not a url', /GRAPH_BASE_URL must be an http\(s\) URL/],
    ['KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION', 'maybe', /must be true or false/],
    ['ENVIRONMENTS_FILE', '/nonexistent/environments.json', /ENVIRONMENTS_FILE cannot be read/],
    ['WORKER_MAX_CACHED_WORKFLOWS', '-1', /WORKER_MAX_CACHED_WORKFLOWS must be a whole number/],
    ['WORKER_MAX_CACHED_WORKFLOWS', '0', /WORKER_MAX_CACHED_WORKFLOWS must be between 1/],
    ['API_AUTH_FAILURES_PER_MINUTE', '0', /API_AUTH_FAILURES_PER_MINUTE must be between 1/],
    ['API_TRUST_PROXY', '10.0.0.1,proxy.local', /API_TRUST_PROXY must be .*"proxy\.local"/],
    ['API_TRUST_PROXY', '10.0.0.0/33', /API_TRUST_PROXY must be .*"10\.0\.0\.0\/33"/],
  ])('a bad %s (%s) is refused with a message naming it', (name, value, message) => {
    expect(() => onSandbox({ [name]: value })).toThrow(ConfigError);
    expect(() => onSandbox({ [name]: value })).toThrow(message);
  });

  test('reads environments from ENVIRONMENTS_FILE', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'niu-config-'));
    const file = path.join(dir, 'environments.json');
    const doc = sandboxEnvironments('https://example.test');
    doc.environments[0]!.nonInteractiveLimit = 7;
    writeFileSync(file, JSON.stringify(doc));
    const config = onSandbox({ ENVIRONMENTS_FILE: file });
    expect(config.environments[0]).toMatchObject({ name: 'contoso-prod', nonInteractiveLimit: 7 });
  });
});

describe('parseEnvironments', () => {
  const valid = () =>
    sandboxEnvironments('https://example.test').environments[0]! as unknown as Record<string, unknown>;

  test.each([
    ['not JSON', '{', /is not valid JSON/],
    ['no environments', '{"environments": []}', /non-empty "environments" array/],
    [
      'bad usage location',
      JSON.stringify({ environments: [{ ...valid(), usageLocation: 'usa' }] }),
      /ISO 3166 alpha-2/,
    ],
    ['no domains', JSON.stringify({ environments: [{ ...valid(), allowedUpnDomains: [] }] }), /allowedUpnDomains/],
    ['bad name', JSON.stringify({ environments: [{ ...valid(), name: 'Contoso Prod' }] }), /"name" must be lower-case/],
    ['duplicate', JSON.stringify({ environments: [valid(), valid()] }), /repeats the environment name/],
    ['bad limit', JSON.stringify({ environments: [{ ...valid(), nonInteractiveLimit: -1 }] }), /nonInteractiveLimit/],
    [
      'securityGroupId not a GUID',
      JSON.stringify({ environments: [{ ...valid(), securityGroupId: 'Dynamics Users' }] }),
      /field "securityGroupId" must be a GUID or null, got "Dynamics Users"/,
    ],
    [
      'auditRepair not a boolean',
      JSON.stringify({ environments: [{ ...valid(), auditRepair: 1 }] }),
      /field "auditRepair" must be true or false, got 1/,
    ],
    [
      'passwordExpires not a boolean',
      JSON.stringify({ environments: [{ ...valid(), passwordExpires: 'yes' }] }),
      /field "passwordExpires" must be true or false, got "yes"/,
    ],
  ])('%s is refused', (_label, text, message) => {
    expect(() => parseEnvironments(text, 'test.json')).toThrow(message);
  });

  test('lower-cases domains and leaves the Power Platform environment id to the admin API (null)', () => {
    const { powerPlatformEnvironmentId: _omit, ...rest } = valid();
    const [env] = parseEnvironments(
      JSON.stringify({ environments: [{ ...rest, allowedUpnDomains: ['Contoso.OnMicrosoft.com'] }] }),
      'test.json',
    );
    expect(env?.allowedUpnDomains).toEqual(['contoso.onmicrosoft.com']);
    expect(env?.powerPlatformEnvironmentId).toBeNull();
  });
});
