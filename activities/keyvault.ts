// Optional hand-over of the generated password to Azure Key Vault. With no vault configured the
// password is simply discarded (the account is non-interactive; the integration gets its own
// credential). Only the secret id (no value) goes back to the workflow.
import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { callSignal } from './cancellation';

export interface PasswordStore {
  /** Stores the password, returns the secret id, or null when no vault is configured. */
  store(name: string, password: string, tags: Record<string, string>): Promise<string | null>;
}

/**
 * The credential as Key Vault's challenge handler should use it. The handler asks for a token
 * in the tenant the 401 challenge names (by GUID); when AZURE_TENANT_ID is the tenant's domain
 * name, @azure/identity sees a different tenant and refuses. The vault is ours, configured next
 * to the credential, so it is in the worker's own tenant: ask without the tenant override.
 */
export function vaultCredential(credential: TokenCredential): TokenCredential {
  return {
    getToken: (scopes, options) => credential.getToken(scopes, { ...options, tenantId: undefined }),
  };
}

export function createPasswordStore(config: Config, credential: TokenCredential): PasswordStore {
  const vaultUrl = config.microsoft.keyVaultUrl;
  if (!vaultUrl) return { store: async () => null };
  const client = new SecretClient(vaultUrl, vaultCredential(credential), {
    disableChallengeResourceVerification: config.microsoft.keyVaultDisableChallengeResourceVerification,
    retryOptions: { maxRetries: 0 }, // Temporal retries the activity
  });
  return {
    async store(name, password, tags) {
      const secret = await client.setSecret(name, password, {
        tags,
        contentType: 'password',
        abortSignal: callSignal(),
      });
      return secret.properties.id ?? null;
    },
  };
}

/** Key Vault secret names allow letters, digits and dashes only. */
export function secretNameFor(userPrincipalName: string): string {
  return `niu-${userPrincipalName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`.slice(0, 127);
}
