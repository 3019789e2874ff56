// Which @azure/identity credential the worker signs in with, chosen by the standard AZURE_*
// variables as EnvironmentCredential and DefaultAzureCredential read them:
//   AZURE_CLIENT_SECRET                      ClientSecretCredential
//   AZURE_CLIENT_CERTIFICATE_PATH            ClientCertificateCredential (+ _PASSWORD, SEND_CERTIFICATE_CHAIN)
//   AZURE_FEDERATED_TOKEN_FILE               WorkloadIdentityCredential
//   AZURE_USE_MANAGED_IDENTITY=true          ManagedIdentityCredential (AZURE_CLIENT_ID: user-assigned)
// Exactly one: two set is a misconfiguration, refused naming both. Managed identity is an explicit
// choice, not inferred from IDENTITY_ENDPOINT or MSI_ENDPOINT: App Service sets those whenever
// an identity is enabled, also for an app that signs in with a secret, and an Azure VM's
// identity (IMDS) sets nothing at all. The identity library then finds the endpoint itself.
import type { Values } from './declare';
import { ConfigError } from './errors';
import type { VARIABLES } from './variables';

export type CredentialSettings =
  | { kind: 'client-secret'; tenantId: string; clientId: string; clientSecret: string }
  | {
      kind: 'client-certificate';
      tenantId: string;
      clientId: string;
      certificatePath: string;
      certificatePassword: string | null;
      sendCertificateChain: boolean;
    }
  | { kind: 'workload-identity'; tenantId: string; clientId: string; tokenFilePath: string }
  /** clientId null: the system-assigned identity. */
  | { kind: 'managed-identity'; clientId: string | null };

export type CredentialKind = CredentialSettings['kind'];

type V = Values<typeof VARIABLES>;

/** The variable that selects each kind, in the order they are named in messages. */
const SELECTORS: [variable: string, kind: CredentialKind, isSet: (v: V) => boolean][] = [
  ['AZURE_CLIENT_SECRET', 'client-secret', (v) => v.AZURE_CLIENT_SECRET !== null],
  ['AZURE_CLIENT_CERTIFICATE_PATH', 'client-certificate', (v) => v.AZURE_CLIENT_CERTIFICATE_PATH !== null],
  ['AZURE_FEDERATED_TOKEN_FILE', 'workload-identity', (v) => v.AZURE_FEDERATED_TOKEN_FILE !== null],
  ['AZURE_USE_MANAGED_IDENTITY', 'managed-identity', (v) => v.AZURE_USE_MANAGED_IDENTITY],
];

/** The sandbox's seeded secret of `provisioner-client` (sandbox/seed.ts): the credential on the sandbox when none is set. */
const SANDBOX_SECRET = 'provisioner-secret';

/** "A, B or C" / "A and B". */
function names(list: string[], last: string): string {
  return list.length < 2 ? list.join('') : `${list.slice(0, -1).join(', ')} ${last} ${list.at(-1)}`;
}

/** The error for a worker with no credential at all. */
export function noCredential(): ConfigError {
  return new ConfigError(
    names(
      SELECTORS.map(([variable]) => variable),
      'or',
    ),
    'must be set: the worker needs a credential towards Microsoft (docs/configuration.md)',
  );
}

/**
 * The worker's credential from the variables. Refuses two kinds at once and a certificate
 * setting without the certificate. None set: on the sandbox its provisioner's secret;
 * otherwise null, or (`required`, the worker) the error naming what to set. A kind that signs
 * in as an app registration also needs AZURE_TENANT_ID and AZURE_CLIENT_ID.
 */
export function credentialSettings(v: V, { sandbox, required }: { sandbox: boolean; required: boolean }) {
  const chosen = SELECTORS.filter(([, , isSet]) => isSet(v));
  if (chosen.length > 1) {
    throw new ConfigError(
      names(
        chosen.map(([variable]) => variable),
        'and',
      ),
      `${chosen.length > 2 ? 'are all' : 'are both'} set: set exactly one credential (a secret, a certificate, a federated token file or a managed identity)`,
    );
  }
  if (v.AZURE_CLIENT_CERTIFICATE_PATH === null) {
    if (v.AZURE_CLIENT_CERTIFICATE_PASSWORD !== null) {
      throw new ConfigError('AZURE_CLIENT_CERTIFICATE_PASSWORD', 'is set but AZURE_CLIENT_CERTIFICATE_PATH is not');
    }
    if (v.AZURE_CLIENT_SEND_CERTIFICATE_CHAIN) {
      throw new ConfigError('AZURE_CLIENT_SEND_CERTIFICATE_CHAIN', 'is set but AZURE_CLIENT_CERTIFICATE_PATH is not');
    }
  }
  const kind: CredentialKind | undefined = chosen[0]?.[1] ?? (sandbox ? 'client-secret' : undefined);
  if (kind === undefined) {
    if (required) throw noCredential();
    return null;
  }
  if (kind === 'managed-identity') return { kind, clientId: v.AZURE_CLIENT_ID } satisfies CredentialSettings;
  const missing = (['AZURE_TENANT_ID', 'AZURE_CLIENT_ID'] as const).find((name) => v[name] === null);
  if (missing) {
    if (required) throw new ConfigError(missing, `is not set: the worker's ${kind} credential needs it`);
    return null;
  }
  const app = { tenantId: v.AZURE_TENANT_ID!, clientId: v.AZURE_CLIENT_ID! };
  switch (kind) {
    case 'client-secret':
      return { kind, ...app, clientSecret: v.AZURE_CLIENT_SECRET ?? SANDBOX_SECRET } satisfies CredentialSettings;
    case 'client-certificate':
      return {
        kind,
        ...app,
        certificatePath: v.AZURE_CLIENT_CERTIFICATE_PATH!,
        certificatePassword: v.AZURE_CLIENT_CERTIFICATE_PASSWORD,
        sendCertificateChain: v.AZURE_CLIENT_SEND_CERTIFICATE_CHAIN,
      } satisfies CredentialSettings;
    case 'workload-identity':
      return { kind, ...app, tokenFilePath: v.AZURE_FEDERATED_TOKEN_FILE! } satisfies CredentialSettings;
  }
}
