// The worker's identity towards Microsoft: one @azure/identity credential of the kind the
// configuration chose (config/credential.ts: a client secret, a certificate, a federated token
// file or a managed identity), pointed at the configured authority. `disableInstanceDiscovery`
// because the sandbox (or a sovereign cloud) is not in Entra's public instance list. Every
// caller (Graph, Dataverse, the admin API, Key Vault) gets this one credential behind
// CachingTokenCredential (token-cache.ts).
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type AccessToken,
  type TokenCredential,
} from '@azure/identity';
import { noCredential, type Config, type CredentialSettings } from '../config';
import { failure } from './errors';
import { CachingTokenCredential } from './token-cache';

export interface TokenSource {
  credential: TokenCredential;
  /** An access token for `resource` (`<resource>/.default`), failures mapped to ApplicationFailures. */
  token(resource: string): Promise<string>;
}

/** The @azure/identity credential of `settings`. */
export function createCredential(settings: CredentialSettings, authorityHost: string): TokenCredential {
  const authority = { authorityHost, disableInstanceDiscovery: true };
  switch (settings.kind) {
    case 'client-secret':
      return new ClientSecretCredential(settings.tenantId, settings.clientId, settings.clientSecret, authority);
    case 'client-certificate':
      return new ClientCertificateCredential(
        settings.tenantId,
        settings.clientId,
        { certificatePath: settings.certificatePath, certificatePassword: settings.certificatePassword ?? undefined },
        { ...authority, sendCertificateChain: settings.sendCertificateChain },
      );
    case 'workload-identity':
      return new WorkloadIdentityCredential({
        tenantId: settings.tenantId,
        clientId: settings.clientId,
        tokenFilePath: settings.tokenFilePath,
        ...authority,
      });
    case 'managed-identity':
      // The endpoint is the platform's (IDENTITY_ENDPOINT, IMDS, ...), found by the library.
      return settings.clientId ? new ManagedIdentityCredential(settings.clientId) : new ManagedIdentityCredential();
  }
}

export function createTokenSource(config: Config): TokenSource {
  const { credential: settings, authorityHost } = config.microsoft;
  if (!settings) throw noCredential();
  const credential = new CachingTokenCredential(createCredential(settings, authorityHost));
  return {
    credential,
    async token(resource: string): Promise<string> {
      let result: AccessToken | null;
      try {
        result = await credential.getToken(`${resource.replace(/\/+$/, '')}/.default`);
      } catch (err) {
        const e = err as { name?: string; statusCode?: number; message?: string };
        // A refused client (wrong secret or certificate, unknown client) will not get better by retrying.
        if (e.name === 'AuthenticationError' && (e.statusCode === 400 || e.statusCode === 401)) {
          throw failure('permission-denied', `token request for ${resource} refused: ${e.message ?? ''}`);
        }
        throw err; // network, 5xx, 429 of the token endpoint: Temporal retries the activity
      }
      if (!result) throw failure('permission-denied', `no token for ${resource}`, true);
      return result.token;
    },
  };
}
