// Fail closed: what each process needs that has no default outside the sandbox. With
// NIU_SANDBOX=true everything has the sandbox's default and nothing is checked here; without it a
// process that lacks one of its settings stops at start (exit 78) naming the first one missing,
// instead of running with an endpoint or identity nobody chose.
//   worker   AZURE_CLOUD, a credential (with AZURE_TENANT_ID and AZURE_CLIENT_ID unless it is a
//            managed identity), ENVIRONMENTS_FILE
//   api      AUTH_OPENID_CONFIG_URL, AUTH_AUDIENCE, ENVIRONMENTS_FILE (no Microsoft credential)
//   sandbox, cli   nothing (the sandbox serves its own; the command-line client asks a running API)
// `all` (the default of loadConfig) is the worker's and the API's together.
import type { Values } from './declare';
import { credentialSettings } from './credential';
import { ConfigError } from './errors';
import type { VARIABLES } from './variables';

export type Role = 'worker' | 'api' | 'sandbox' | 'cli' | 'all';

/** Stands for "a credential" (credential.ts) in a list of required variables. */
const CREDENTIAL = 'a credential';

const REQUIRED: Record<'worker' | 'api', readonly string[]> = {
  worker: ['AZURE_CLOUD', CREDENTIAL, 'ENVIRONMENTS_FILE'],
  api: ['AUTH_OPENID_CONFIG_URL', 'AUTH_AUDIENCE', 'ENVIRONMENTS_FILE'],
};

const PROCESS = { worker: 'the worker', api: 'the API' } as const;

function requirements(role: Role): [name: string, by: 'worker' | 'api'][] {
  const roles = role === 'all' ? (['worker', 'api'] as const) : role === 'worker' || role === 'api' ? [role] : [];
  return roles.flatMap((r) => REQUIRED[r].map((name): [string, 'worker' | 'api'] => [name, r]));
}

/** The processes that need `name` outside the sandbox (for the docs and .env.example). */
export function requiredBy(name: string): Role[] {
  return (['worker', 'api'] as const).filter((r) => REQUIRED[r].includes(name));
}

/** Throws the ConfigError of the first setting `role` needs and does not have (outside the sandbox). */
export function checkRequired(role: Role, v: Values<typeof VARIABLES>): void {
  for (const [name, by] of requirements(role)) {
    if (name === CREDENTIAL) {
      credentialSettings(v, { sandbox: false, required: true });
    } else if (v[name as keyof typeof v] === null) {
      throw new ConfigError(
        name,
        `is not set, and ${PROCESS[by]} needs it: nothing defaults to the sandbox unless NIU_SANDBOX=true (docs/configuration.md)`,
      );
    }
  }
}
