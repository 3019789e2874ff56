// The worker's view of Microsoft: the cloud (clouds.ts), every endpoint and token audience from
// it unless set on its own, the credential (credential.ts), and, outside the sandbox, the check
// that what was set on its own belongs to that cloud: a Graph, admin API, vault or Dataverse URL
// of another cloud takes tokens that URL does not accept, so it is refused at start.
import { CLOUDS, cloudOfDataverseHost, cloudsAt, isUnder, type CloudName } from './clouds';
import { credentialSettings, type CredentialSettings } from './credential';
import type { Values } from './declare';
import type { EnvironmentConfig } from './environments';
import { ConfigError } from './errors';
import type { VARIABLES } from './variables';

export interface MicrosoftConfig {
  /** AZURE_CLOUD (public where unset: the sandbox, or a process that calls no Microsoft endpoint). */
  cloud: CloudName;
  /** Whether AZURE_CLOUD was set (then URLs set on their own are checked against it). */
  cloudSet: boolean;
  tenantId: string | null;
  clientId: string | null;
  /** The worker's credential; null: none configured (a process that needs none). */
  credential: CredentialSettings | null;
  authorityHost: string;
  graphBaseUrl: string;
  /** Audience of Graph tokens (scope `<audience>/.default`): the Graph root of the URL's cloud. */
  graphAudience: string;
  powerPlatformBaseUrl: string;
  /** Token audience of the Power Platform admin API. */
  powerPlatformAudience: string;
  /** The environments' Dataverse URLs are under it (checked outside the sandbox). */
  dataverseDomain: string;
  keyVaultUrl: string | null;
  /** KEYVAULT_URL is under it (checked outside the sandbox). */
  keyVaultDomain: string;
  /** Sandbox only: its vault host is not a subdomain of vault.azure.net. */
  keyVaultDisableChallengeResourceVerification: boolean;
}

type V = Values<typeof VARIABLES>;

export function microsoftConfig(v: V, sandbox: boolean): MicrosoftConfig {
  const cloud = v.AZURE_CLOUD ?? 'public';
  const row = CLOUDS[cloud];
  const graphBaseUrl = v.GRAPH_BASE_URL ?? row.graph;
  const powerPlatformBaseUrl = v.POWERPLATFORM_BASE_URL ?? row.powerPlatform;
  // A URL of a known cloud takes that cloud's tokens (the sandbox's URL is none: the cloud's).
  const powerPlatformCloud = cloudsAt(powerPlatformBaseUrl, 'powerPlatform')[0] ?? cloud;
  return {
    cloud,
    cloudSet: v.AZURE_CLOUD !== null,
    tenantId: v.AZURE_TENANT_ID,
    clientId: v.AZURE_CLIENT_ID,
    credential: credentialSettings(v, { sandbox, required: false }),
    authorityHost: v.AZURE_AUTHORITY_HOST ?? row.authorityHost,
    graphBaseUrl,
    graphAudience: v.GRAPH_AUDIENCE ?? CLOUDS[cloudsAt(graphBaseUrl, 'graph')[0] ?? cloud].graph,
    powerPlatformBaseUrl,
    powerPlatformAudience: v.POWERPLATFORM_AUDIENCE ?? CLOUDS[powerPlatformCloud].powerPlatformAudience,
    dataverseDomain: (v.DATAVERSE_DOMAIN ?? row.dataverseDomain).toLowerCase(),
    keyVaultUrl: v.KEYVAULT_URL,
    keyVaultDomain: (v.KEYVAULT_DOMAIN ?? row.keyVaultDomain).toLowerCase(),
    keyVaultDisableChallengeResourceVerification: v.KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION,
  };
}

/**
 * Outside the sandbox, with AZURE_CLOUD set: Graph and the admin API, when set to a known
 * cloud's, must be the chosen cloud's; the vault and every environment's Dataverse URL must be
 * https hosts under the cloud's domains (a GCC environment, crm9.dynamics.com, is not the
 * public cloud's). `file` names the environments file in messages.
 */
export function checkCloud(m: MicrosoftConfig, environments: EnvironmentConfig[], file: string): void {
  if (!m.cloudSet) return;
  const { title } = CLOUDS[m.cloud];
  for (const [variable, url, field] of [
    ['GRAPH_BASE_URL', m.graphBaseUrl, 'graph'],
    ['POWERPLATFORM_BASE_URL', m.powerPlatformBaseUrl, 'powerPlatform'],
  ] as const) {
    const owners = cloudsAt(url, field);
    if (owners.length > 0 && !owners.includes(m.cloud)) {
      throw new ConfigError(variable, `is the ${owners[0]} cloud's, but AZURE_CLOUD is ${m.cloud}: got "${url}"`);
    }
  }
  if (m.keyVaultUrl !== null && !isHttpsUnder(m.keyVaultUrl, m.keyVaultDomain)) {
    throw new ConfigError(
      'KEYVAULT_URL',
      `must be an https URL under ${m.keyVaultDomain}, a vault of the ${m.cloud} cloud (${title}): got "${m.keyVaultUrl}"`,
    );
  }
  environments.forEach((env, i) => {
    const host = URL.canParse(env.dataverseUrl) ? new URL(env.dataverseUrl).hostname : '';
    // Under the domain, and not a more specific one of another cloud (unless the domain is set).
    const owner = cloudOfDataverseHost(host);
    const ok =
      isHttpsUnder(env.dataverseUrl, m.dataverseDomain) &&
      (m.dataverseDomain !== CLOUDS[m.cloud].dataverseDomain || owner === m.cloud);
    if (!ok) {
      throw new ConfigError(
        `ENVIRONMENTS_FILE (${file}) environments[${i}]`,
        `field "dataverseUrl" must be an https URL under ${m.dataverseDomain}, a Dataverse environment of the ` +
          `${m.cloud} cloud (${title}): got "${env.dataverseUrl}"` +
          (owner && owner !== m.cloud ? ` (an environment of the ${owner} cloud)` : ''),
      );
    }
  });
}

function isHttpsUnder(url: string, domain: string): boolean {
  return URL.canParse(url) && new URL(url).protocol === 'https:' && isUnder(new URL(url).hostname, domain);
}
