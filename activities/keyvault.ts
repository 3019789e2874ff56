// Optional hand-over of the generated password to Azure Key Vault. With no vault configured the
// password is simply discarded (the account is non-interactive; the integration gets its own
// credential). Only the secret id (no value) goes back to the workflow.
//
// Deprovisioning deletes the secret. Vaults soft-delete (on by default, and cannot be turned off
// on new vaults): the name stays taken until the secret is recovered or purged, and purging needs
// a permission (and is refused under purge protection) that this service should not hold. So a
// later provisioning of the same account recovers the deleted secret and adds a new version.
import { SecretClient } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/identity';
import type { Config } from '../config';
import { callSignal } from './cancellation';
import { httpFailure } from './errors';

export interface PasswordStore {
  /** Stores the password, returns the secret id, or null when no vault is configured. */
  store(name: string, password: string, tags: Record<string, string>): Promise<string | null>;
  /** Deletes the secret (every version); false when there is none (already deleted) or no vault. */
  remove(name: string): Promise<boolean>;
  /** The secret's id without a version (its latest), or null when no vault is configured. */
  idOf(name: string): string | null;
}

/** How often the SDK's pollers look while a deletion or recovery completes. */
const POLL_MS = 500;

/** A failed Key Vault call (the SDK's RestError) as the failure the retry policies know. */
function keyVaultFailure(err: unknown): unknown {
  const e = err as {
    statusCode?: number;
    code?: string;
    message?: string;
    response?: { headers?: { get(n: string): string | undefined } };
  };
  if (typeof e?.statusCode !== 'number') return err;
  return httpFailure({
    service: 'keyvault',
    status: e.statusCode,
    code: e.code ?? null,
    message: e.message ?? 'Key Vault error',
    retryAfter: e.response?.headers?.get('retry-after') ?? null,
  });
}

const statusOf = (err: unknown): number | undefined => (err as { statusCode?: number })?.statusCode;

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
  if (!vaultUrl) return { store: async () => null, remove: async () => false, idOf: () => null };
  const client = new SecretClient(vaultUrl, vaultCredential(credential), {
    disableChallengeResourceVerification: config.microsoft.keyVaultDisableChallengeResourceVerification,
    retryOptions: { maxRetries: 0 }, // Temporal retries the activity
  });
  const set = (name: string, password: string, tags: Record<string, string>) =>
    client.setSecret(name, password, { tags, contentType: 'password', abortSignal: callSignal() });
  return {
    async store(name, password, tags) {
      try {
        return (await set(name, password, tags)).properties.id ?? null;
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
      }
      // 409: the name is taken by a deleted secret (a deprovisioning deleted it): recover it, then
      // add the new version. Asked, not read from the message: the SDK keeps no inner error code.
      try {
        await client.getDeletedSecret(name, { abortSignal: callSignal() });
        const recovery = await client.beginRecoverDeletedSecret(name, {
          intervalInMs: POLL_MS,
          abortSignal: callSignal(),
        });
        await recovery.pollUntilDone({ abortSignal: callSignal() });
      } catch (err) {
        // Recovered meanwhile (an earlier attempt): set it below.
        if (statusOf(err) !== 404) throw keyVaultFailure(err);
      }
      return (await set(name, password, tags)).properties.id ?? null;
    },
    async remove(name) {
      try {
        const deletion = await client.beginDeleteSecret(name, { intervalInMs: POLL_MS, abortSignal: callSignal() });
        await deletion.pollUntilDone({ abortSignal: callSignal() });
        return true;
      } catch (err) {
        // None, or deleted already (an earlier attempt whose answer was lost): the state we want.
        if (statusOf(err) === 404) return false;
        throw keyVaultFailure(err);
      }
    },
    idOf: (name) => `${vaultUrl.replace(/\/+$/, '')}/secrets/${name}`,
  };
}

/** The secret's name (Key Vault allows letters, digits and dashes only): workflows/lifecycle-types.ts. */
export { secretNameFor } from '../workflows/lifecycle-types';
