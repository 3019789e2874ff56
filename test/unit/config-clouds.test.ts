// AZURE_CLOUD (config/clouds.ts): each cloud's endpoints and audiences as Microsoft documents them,
// every one derived from it unless set on its own, and, outside the sandbox, URLs of another
// cloud refused at start.
import { CLOUD_NAMES, CLOUDS, loadConfig } from '../../config';
import { configError, deployment, environmentsFile } from '../helpers/config';

test("the table: each cloud as Graph's national-cloud page and the Terraform provider for Power Platform list it", () => {
  const host = (url: string) => new URL(url).host;
  expect(
    CLOUD_NAMES.map((name) => {
      const c = CLOUDS[name];
      const hosts = [c.authorityHost, c.graph, c.powerPlatform, c.powerPlatformAudience].map(host);
      return [name, ...hosts, c.dataverseDomain, c.keyVaultDomain].join(' | ');
    }),
  ).toEqual([
    // cloud | authority | Graph (audience) | admin API (BAP) | its audience | Dataverse | Key Vault
    'public | login.microsoftonline.com | graph.microsoft.com | api.bap.microsoft.com | service.powerapps.com | dynamics.com | vault.azure.net',
    'gcc | login.microsoftonline.com | graph.microsoft.com | gov.api.bap.microsoft.us | service.powerapps.us | crm9.dynamics.com | vault.azure.net',
    'usgovernment | login.microsoftonline.us | graph.microsoft.us | high.api.bap.microsoft.us | high.service.apps.appsplatform.us | crm.microsoftdynamics.us | vault.usgovcloudapi.net',
    'usgovernment-dod | login.microsoftonline.us | dod-graph.microsoft.us | api.bap.appsplatform.us | service.apps.appsplatform.us | crm.appsplatform.us | vault.usgovcloudapi.net',
    'china | login.chinacloudapi.cn | microsoftgraph.chinacloudapi.cn | api.bap.partner.microsoftonline.cn | service.powerapps.cn | crm.dynamics.cn | vault.azure.cn',
  ]);
  // Every URL is an https origin: a path or a trailing slash would change the scopes made from it.
  for (const c of Object.values(CLOUDS)) {
    for (const url of [c.authorityHost, c.graph, c.powerPlatform, c.powerPlatformAudience]) {
      expect(url).toBe(`https://${host(url)}`);
    }
  }
});

/** An environment of each cloud (the public one in a regional domain). */
const DATAVERSE = {
  public: 'https://contoso.crm4.dynamics.com',
  gcc: 'https://contoso.crm9.dynamics.com',
  usgovernment: 'https://contoso.crm.microsoftdynamics.us',
  'usgovernment-dod': 'https://contoso.crm.appsplatform.us',
  china: 'https://contoso.crm.dynamics.cn',
};

test.each(CLOUD_NAMES)('AZURE_CLOUD=%s gives every endpoint and audience of its row', (cloud) => {
  const row = CLOUDS[cloud];
  const { microsoft } = loadConfig(
    deployment({
      AZURE_CLOUD: cloud,
      ENVIRONMENTS_FILE: environmentsFile(DATAVERSE[cloud]),
      KEYVAULT_URL: `https://niu-passwords.${row.keyVaultDomain}`,
    }),
    'worker',
  );
  expect(microsoft).toMatchObject({
    cloud,
    authorityHost: row.authorityHost,
    graphBaseUrl: row.graph,
    graphAudience: row.graph,
    powerPlatformBaseUrl: row.powerPlatform,
    powerPlatformAudience: row.powerPlatformAudience,
    dataverseDomain: row.dataverseDomain,
    keyVaultDomain: row.keyVaultDomain,
  });
});

test('AZURE_CLOUD is one of the table (any case)', () => {
  expect(
    loadConfig(deployment({ AZURE_CLOUD: 'China', ENVIRONMENTS_FILE: environmentsFile(DATAVERSE.china) })).microsoft
      .cloud,
  ).toBe('china');
  expect(configError(deployment({ AZURE_CLOUD: 'azureusgovernment' }))).toBe(
    'Configuration error: AZURE_CLOUD must be one of public, gcc, usgovernment, usgovernment-dod, china, got "azureusgovernment"',
  );
});

test('each endpoint and audience stays overridable by its own variable', () => {
  const { microsoft } = loadConfig(
    deployment({
      AZURE_AUTHORITY_HOST: 'https://login.partner.example/',
      GRAPH_BASE_URL: 'https://graph-proxy.contoso.com',
      GRAPH_AUDIENCE: 'https://graph.example',
      POWERPLATFORM_BASE_URL: 'https://bap-proxy.contoso.com',
      POWERPLATFORM_AUDIENCE: 'https://bap.example',
      DATAVERSE_DOMAIN: 'dataverse.contoso.com',
      ENVIRONMENTS_FILE: environmentsFile('https://org.dataverse.contoso.com'),
      KEYVAULT_DOMAIN: 'vault.contoso.com',
      KEYVAULT_URL: 'https://niu.vault.contoso.com',
    }),
  );
  expect(microsoft).toMatchObject({
    authorityHost: 'https://login.partner.example',
    graphBaseUrl: 'https://graph-proxy.contoso.com',
    graphAudience: 'https://graph.example',
    powerPlatformBaseUrl: 'https://bap-proxy.contoso.com',
    powerPlatformAudience: 'https://bap.example',
    dataverseDomain: 'dataverse.contoso.com',
    keyVaultUrl: 'https://niu.vault.contoso.com',
  });
});

describe("the Graph scope follows the Graph base URL's cloud", () => {
  test("a known Graph root is its own audience; another URL (a proxy, the sandbox) takes the cloud's", () => {
    const gov = loadConfig(
      deployment({
        AZURE_CLOUD: 'usgovernment',
        GRAPH_BASE_URL: 'https://graph.microsoft.us/',
        ENVIRONMENTS_FILE: environmentsFile(DATAVERSE.usgovernment),
      }),
    );
    expect(gov.microsoft.graphAudience).toBe('https://graph.microsoft.us');
    const proxied = loadConfig(
      deployment({
        AZURE_CLOUD: 'usgovernment-dod',
        GRAPH_BASE_URL: 'https://graph-proxy.contoso.com',
        ENVIRONMENTS_FILE: environmentsFile(DATAVERSE['usgovernment-dod']),
      }),
    );
    expect(proxied.microsoft.graphAudience).toBe('https://dod-graph.microsoft.us');
    // The API sets no cloud and calls no Graph: what it reads is the URL's own cloud.
    const api = loadConfig(
      deployment({ AZURE_CLOUD: '', GRAPH_BASE_URL: 'https://microsoftgraph.chinacloudapi.cn' }),
      'api',
    );
    expect(api.microsoft.graphAudience).toBe('https://microsoftgraph.chinacloudapi.cn');
  });

  test("so does the admin API: a known BAP host takes its cloud's audience", () => {
    const api = loadConfig(
      deployment({ AZURE_CLOUD: '', POWERPLATFORM_BASE_URL: 'https://gov.api.bap.microsoft.us' }),
      'api',
    );
    expect(api.microsoft.powerPlatformAudience).toBe('https://service.powerapps.us');
  });

  test("on the sandbox the audiences are the public cloud's, which it issues tokens for", () => {
    const { microsoft } = loadConfig({ NIU_SANDBOX: 'true' });
    expect(microsoft).toMatchObject({
      cloud: 'public',
      graphBaseUrl: 'https://127.0.0.1:4443',
      graphAudience: 'https://graph.microsoft.com',
      powerPlatformAudience: 'https://service.powerapps.com',
    });
  });
});

describe('outside the sandbox, URLs of another cloud are refused at start', () => {
  test.each([
    [
      'Graph of another cloud',
      { AZURE_CLOUD: 'usgovernment', GRAPH_BASE_URL: 'https://graph.microsoft.com' },
      'GRAPH_BASE_URL is the public cloud\'s, but AZURE_CLOUD is usgovernment: got "https://graph.microsoft.com"',
    ],
    [
      'the admin API of another cloud',
      { POWERPLATFORM_BASE_URL: 'https://high.api.bap.microsoft.us' },
      'POWERPLATFORM_BASE_URL is the usgovernment cloud\'s, but AZURE_CLOUD is public: got "https://high.api.bap.microsoft.us"',
    ],
    [
      'a vault of another cloud',
      { KEYVAULT_URL: 'https://niu.vault.usgovcloudapi.net' },
      'KEYVAULT_URL must be an https URL under vault.azure.net, a vault of the public cloud (Microsoft global (commercial)): got "https://niu.vault.usgovcloudapi.net"',
    ],
    [
      'a vault over http',
      { KEYVAULT_URL: 'http://niu.vault.azure.net' },
      'KEYVAULT_URL must be an https URL under vault.azure.net, a vault of the public cloud (Microsoft global (commercial)): got "http://niu.vault.azure.net"',
    ],
  ])('%s', (_label, env, message) => {
    expect(configError(deployment(env), 'worker')).toBe(`Configuration error: ${message}`);
  });

  test("an environment outside the cloud's Dataverse domain, or of a more specific cloud (GCC's crm9), names the entry", () => {
    const file = environmentsFile('https://contoso.crm.dynamics.com', 'https://contoso.crm9.dynamics.com');
    expect(configError(deployment({ ENVIRONMENTS_FILE: file }), 'worker')).toBe(
      `Configuration error: ENVIRONMENTS_FILE (${file}) environments[1] field "dataverseUrl" must be an https URL under ` +
        'dynamics.com, a Dataverse environment of the public cloud (Microsoft global (commercial)): ' +
        'got "https://contoso.crm9.dynamics.com" (an environment of the gcc cloud)',
    );
    expect(
      loadConfig(deployment({ AZURE_CLOUD: 'gcc', ENVIRONMENTS_FILE: environmentsFile(DATAVERSE.gcc) })).environments,
    ).toHaveLength(1);
    const sandboxUrl = environmentsFile('https://127.0.0.1:4443/dataverse/contoso-prod');
    expect(configError(deployment({ AZURE_CLOUD: 'china', ENVIRONMENTS_FILE: sandboxUrl }))).toMatch(
      /environments\[0\] field "dataverseUrl" must be an https URL under crm\.dynamics\.cn/,
    );
  });

  test('the same URLs load on the sandbox, and without AZURE_CLOUD in a process that needs none', () => {
    const env = {
      KEYVAULT_URL: 'https://niu.vault.usgovcloudapi.net',
      ENVIRONMENTS_FILE: environmentsFile('https://127.0.0.1:4443/dataverse/x'),
    };
    expect(configError({ ...env, NIU_SANDBOX: 'true' })).toBeNull();
    expect(configError(deployment({ ...env, AZURE_CLOUD: '' }), 'api')).toBeNull();
  });
});
