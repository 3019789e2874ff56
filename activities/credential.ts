// The worker's identity towards Microsoft: one ClientSecretCredential (the app registration of
// docs/security.md), pointed at the configured authority. `disableInstanceDiscovery`
// because the sandbox (or a sovereign cloud) is not in Entra's public instance list. Every
// caller gets it behind CachingTokenCredential (token-cache.ts).
import { ClientSecretCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { failure } from './errors';
import { CachingTokenCredential } from './token-cache';

export interface TokenSource {
  credential: TokenCredential;
  /** An access token for `resource` (`<resource>/.default`), failures mapped to ApplicationFailures. */
  token(resource: string): Promise<string>;
}

export function createTokenSource(config: Config): TokenSource {
  const { tenantId, clientId, clientSecret, authorityHost } = config.microsoft;
  const credential = new CachingTokenCredential(
    new ClientSecretCredential(tenantId, clientId, clientSecret, { authorityHost, disableInstanceDiscovery: true }),
  );
  return {
    credential,
    async token(resource: string): Promise<string> {
      let result: AccessToken | null;
      try {
        result = await credential.getToken(`${resource.replace(/\/+$/, '')}/.default`);
      } catch (err) {
        const e = err as { name?: string; statusCode?: number; message?: string };
        // A refused client (wrong secret, unknown client) will not get better by retrying.
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
