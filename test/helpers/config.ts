// Configurations for the unit tests of config/: an environments file of real-looking Dataverse
// URLs, the settings of a deployment (no sandbox) that the worker and the API both accept, and
// the ConfigError a load throws.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, sandboxEnvironments, type Role } from '../../config';

/** An environments file whose entries have these Dataverse URLs (the sandbox's other fields). */
export function environmentsFile(...dataverseUrls: string[]): string {
  const [template] = sandboxEnvironments('https://unused.test').environments;
  const environments = dataverseUrls.map((dataverseUrl, i) => ({ ...template, name: `env-${i}`, dataverseUrl }));
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'niu-config-')), 'environments.json');
  writeFileSync(file, JSON.stringify({ environments }));
  return file;
}

/** Everything the worker and the API need outside the sandbox, on the public cloud, with a secret. */
export function deployment(env: Record<string, string> = {}): Record<string, string> {
  return {
    AZURE_CLOUD: 'public',
    AZURE_TENANT_ID: '6e1f3b5a-7c2d-4e8f-9a0b-1c2d3e4f5a6b',
    AZURE_CLIENT_ID: '0f6b2c1d-3e4f-4a5b-8c7d-9e0f1a2b3c4d',
    AZURE_CLIENT_SECRET: 'a-secret',
    ENVIRONMENTS_FILE: environmentsFile('https://contoso.crm.dynamics.com'),
    AUTH_OPENID_CONFIG_URL:
      'https://login.microsoftonline.com/6e1f3b5a-7c2d-4e8f-9a0b-1c2d3e4f5a6b/v2.0/.well-known/openid-configuration',
    AUTH_AUDIENCE: 'api://noninteractive-users',
    ...env,
  };
}

/** The message of the ConfigError that loading `env` as `role` throws; null when it loads. */
export function configError(env: Record<string, string | undefined>, role: Role = 'all'): string | null {
  try {
    loadConfig(env, role);
    return null;
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
}
