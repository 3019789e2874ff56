// The Microsoft clouds the service can run in, and each one's endpoints and token audiences:
// AZURE_CLOUD picks a row, and every Microsoft setting not given on its own comes from it.
//
// Sources (checked 2026-12-04):
// - Microsoft Graph national cloud deployments (learn.microsoft.com/graph/deployments): the
//   Entra ID authority and the Graph service root of each cloud; GCC keeps the worldwide
//   endpoints, GCC High uses graph.microsoft.us, DoD dod-graph.microsoft.us. A `.default` scope
//   must name the Graph root of its cloud (learn.microsoft.com/graph/sdks/national-clouds).
// - Microsoft's Terraform provider for Power Platform (microsoft/terraform-provider-power-platform,
//   internal/constants/constants.go and internal/provider/provider.go): per cloud the BAP host
//   (the admin API of `addUser`), the "Power Apps" scope its BAP calls are made with
//   (internal/api/client.go tryGetScopeFromURL) and the authority. GCC has its own BAP host and
//   audience but authenticates against the public cloud.
// - Dataverse's Global Discovery Service sample (learn.microsoft.com, power-apps developer docs,
//   "Sample: Global Discovery Service (C#)"): the Dataverse domain of each cloud
//   (crm.dynamics.com and its regional crmN, crm9 for GCC, crm.microsoftdynamics.us,
//   crm.appsplatform.us, crm.dynamics.cn).
// - Azure's built-in environments (Get-AzEnvironment: AzureKeyVaultDnsSuffix and
//   AzureKeyVaultServiceEndpointResourceId): the Key Vault suffix, whose https URL is the
//   token resource Key Vault's 401 challenge names.

export interface Cloud {
  /** What it is called in Microsoft's documentation. */
  title: string;
  /** Entra ID (the token endpoints). */
  authorityHost: string;
  /** Microsoft Graph's service root; also its token audience (`<root>/.default`). */
  graph: string;
  /** The Power Platform admin API (BAP). */
  powerPlatform: string;
  /** The admin API's token audience. */
  powerPlatformAudience: string;
  /** Dataverse organization URLs are hosts under it. */
  dataverseDomain: string;
  /** Vault URLs are hosts under it; the token resource is `https://<suffix>`. */
  keyVaultDomain: string;
}

export const CLOUDS = {
  public: {
    title: 'Microsoft global (commercial)',
    authorityHost: 'https://login.microsoftonline.com',
    graph: 'https://graph.microsoft.com',
    powerPlatform: 'https://api.bap.microsoft.com',
    powerPlatformAudience: 'https://service.powerapps.com',
    dataverseDomain: 'dynamics.com',
    keyVaultDomain: 'vault.azure.net',
  },
  gcc: {
    title: 'US Government Community Cloud (GCC)',
    authorityHost: 'https://login.microsoftonline.com',
    graph: 'https://graph.microsoft.com',
    powerPlatform: 'https://gov.api.bap.microsoft.us',
    powerPlatformAudience: 'https://service.powerapps.us',
    dataverseDomain: 'crm9.dynamics.com',
    keyVaultDomain: 'vault.azure.net',
  },
  usgovernment: {
    title: 'US Government GCC High',
    authorityHost: 'https://login.microsoftonline.us',
    graph: 'https://graph.microsoft.us',
    powerPlatform: 'https://high.api.bap.microsoft.us',
    powerPlatformAudience: 'https://high.service.apps.appsplatform.us',
    dataverseDomain: 'crm.microsoftdynamics.us',
    keyVaultDomain: 'vault.usgovcloudapi.net',
  },
  'usgovernment-dod': {
    title: 'US Government DoD',
    authorityHost: 'https://login.microsoftonline.us',
    graph: 'https://dod-graph.microsoft.us',
    powerPlatform: 'https://api.bap.appsplatform.us',
    powerPlatformAudience: 'https://service.apps.appsplatform.us',
    dataverseDomain: 'crm.appsplatform.us',
    keyVaultDomain: 'vault.usgovcloudapi.net',
  },
  china: {
    title: 'China, operated by 21Vianet',
    authorityHost: 'https://login.chinacloudapi.cn',
    graph: 'https://microsoftgraph.chinacloudapi.cn',
    powerPlatform: 'https://api.bap.partner.microsoftonline.cn',
    powerPlatformAudience: 'https://service.powerapps.cn',
    dataverseDomain: 'crm.dynamics.cn',
    keyVaultDomain: 'vault.azure.cn',
  },
} as const satisfies Record<string, Cloud>;

export type CloudName = keyof typeof CLOUDS;
export const CLOUD_NAMES = Object.keys(CLOUDS) as CloudName[];

/** Whether `host` is `domain` or a host under it. */
export function isUnder(host: string, domain: string): boolean {
  const h = host.toLowerCase();
  return h === domain || h.endsWith(`.${domain}`);
}

/** The clouds whose `field` has the origin of `url` (GCC and public share Graph), in table order. */
export function cloudsAt(url: string, field: 'graph' | 'powerPlatform'): CloudName[] {
  const origin = URL.canParse(url) ? new URL(url).origin : '';
  return CLOUD_NAMES.filter((name) => CLOUDS[name][field] === origin);
}

/** The cloud a Dataverse host belongs to: the one with the longest domain it is under (crm9 is GCC's). */
export function cloudOfDataverseHost(host: string): CloudName | undefined {
  const matching = CLOUD_NAMES.filter((name) => isUnder(host, CLOUDS[name].dataverseDomain));
  return matching.sort((a, b) => CLOUDS[b].dataverseDomain.length - CLOUDS[a].dataverseDomain.length)[0];
}
