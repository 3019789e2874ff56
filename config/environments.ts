// The environments file (ENVIRONMENTS_FILE, JSON: `{"environments": [...]}`): its fields, and
// its loading into the environments the API and the activities use. Messages name the file,
// the entry's index and the field.
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors';
import {
  boolean,
  isObject,
  number,
  objectProblem,
  optional,
  orNull,
  required,
  string,
  stringArray,
  type FieldValues,
} from './fields';

const nonEmpty = string('a non-empty string', (s) => s.length > 0);
const guid = string('a GUID', (s) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s));

/** One environment as the file gives it; optional fields get defaults below. */
export const ENVIRONMENT_FIELDS = {
  name: required(
    string('lower-case letters, digits and dashes', (s) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(s)),
    'Alias used in the API and the workflow id, e.g. `contoso-prod`',
  ),
  dataverseUrl: required(
    string('a URL', (s) => URL.canParse(s)),
    'Dataverse organization URL, e.g. `https://contoso.crm.dynamics.com`',
  ),
  powerPlatformEnvironmentId: optional(
    orNull(nonEmpty, 'a non-empty string or null'),
    "Power Platform environment id (for the admin API's addUser); null or left out: found from `dataverseUrl` in the admin API's list of environments",
  ),
  securityGroupId: optional(
    orNull(guid, 'a GUID or null'),
    "The environment's security group (Entra group id), which new accounts join before the sync; null or left out: read from the admin API",
  ),
  passwordExpires: optional(
    boolean('true or false'),
    "Whether new accounts' passwords expire under the tenant's policy; default false: they get `DisablePasswordExpiration`",
  ),
  auditRepair: optional(
    boolean('true or false'),
    "Whether the drift audit repairs this service's users (access mode set to 4 again, a stray license removed); default false: it only reports",
  ),
  rotatePasswordAfterDays: optional(
    orNull(number('a whole number of days, 1 or more', { minimum: 1, integer: true }), 'a whole number or null'),
    "The drift audit rotates the password of this service's users whose password is this many days old (a new Key Vault secret version); null or left out: never",
  ),
  licenseSku: required(
    nonEmpty,
    'License SKU part number assigned during provisioning, e.g. `DYN365_ENTERPRISE_PLAN1`',
  ),
  usageLocation: required(
    string('an ISO 3166 alpha-2 code', (s) => /^[A-Z]{2}$/.test(s)),
    'Default usage location of the users',
  ),
  allowedUpnDomains: required(
    stringArray('a non-empty array of domain names', 1),
    'UPN domains a request may use in this environment',
  ),
  defaultSecurityRoles: optional(
    orNull(stringArray('an array of strings'), 'an array of role names'),
    'Security roles assigned when the request names none',
  ),
  businessUnit: optional(
    orNull(string('a string'), 'a string or null'),
    'Business unit assigned when the request names none; null: the root',
  ),
  nonInteractiveLimit: optional(
    orNull(number('a whole number', { minimum: 0, integer: true }), 'a whole number or null'),
    'Override of the non-interactive user limit read from Dataverse',
  ),
};

type Entry = FieldValues<typeof ENVIRONMENT_FIELDS>;

/**
 * An environment as the code uses it: the file's entry with its optional fields filled in. The
 * admin API's environment id and the security group are null when the file leaves them to the
 * admin API (activities/admin-environments.ts reads them).
 */
export type EnvironmentConfig = Required<Omit<Entry, 'defaultSecurityRoles'>> & { defaultSecurityRoles: string[] };

/** Parses and checks the environments file's text; `source` names it in messages. */
export function parseEnvironments(text: string, source: string): EnvironmentConfig[] {
  const where = `ENVIRONMENTS_FILE (${source})`;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(where, `is not valid JSON: ${(err as Error).message}`);
  }
  const items = isObject(doc) ? doc.environments : undefined;
  if (!Array.isArray(items) || items.length === 0) {
    throw new ConfigError(where, 'must contain a non-empty "environments" array');
  }
  // Every entry is checked before names are compared: a bad entry is reported before a repeat.
  const entries = items.map((item: unknown, i) => {
    const at = `${where} environments[${i}]`;
    if (!isObject(item)) throw new ConfigError(at, `must be a JSON object, got ${JSON.stringify(item)}`);
    const problem = objectProblem(ENVIRONMENT_FIELDS, item);
    if (problem !== undefined) throw new ConfigError(at, problem);
    return item as Entry;
  });
  const seen = new Set<string>();
  return entries.map((item, i) => {
    if (seen.has(item.name)) {
      throw new ConfigError(`${where} environments[${i}]`, `repeats the environment name "${item.name}"`);
    }
    seen.add(item.name);
    return {
      name: item.name,
      dataverseUrl: item.dataverseUrl.replace(/\/+$/, ''),
      powerPlatformEnvironmentId: item.powerPlatformEnvironmentId ?? null,
      securityGroupId: item.securityGroupId?.toLowerCase() ?? null,
      passwordExpires: item.passwordExpires ?? false,
      auditRepair: item.auditRepair ?? false,
      rotatePasswordAfterDays: item.rotatePasswordAfterDays ?? null,
      licenseSku: item.licenseSku,
      usageLocation: item.usageLocation,
      allowedUpnDomains: item.allowedUpnDomains.map((d) => d.toLowerCase()),
      defaultSecurityRoles: item.defaultSecurityRoles ?? [],
      businessUnit: item.businessUnit ?? null,
      nonInteractiveLimit: item.nonInteractiveLimit ?? null,
    };
  });
}

/** Reads and checks the environments file at `file` (an absolute path). */
export function loadEnvironments(file: string): EnvironmentConfig[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('ENVIRONMENTS_FILE', `cannot be read: ${(err as Error).message}`);
  }
  return parseEnvironments(text, file);
}

/**
 * The environments of the sandbox's seed, for a sandbox listening at `sandboxUrl`. Their admin
 * API ids and security groups are left to the admin API, as a real tenant's file may leave them,
 * so the dev stack and the tests go through the lookups.
 */
export function sandboxEnvironments(sandboxUrl: string): { environments: EnvironmentConfig[] } {
  const base = sandboxUrl.replace(/\/+$/, '');
  return {
    environments: ['contoso-prod', 'contoso-test'].map((name) => ({
      name,
      dataverseUrl: `${base}/dataverse/${name}`,
      powerPlatformEnvironmentId: null,
      securityGroupId: null,
      passwordExpires: false,
      auditRepair: false,
      rotatePasswordAfterDays: null,
      licenseSku: 'DYN365_ENTERPRISE_PLAN1',
      usageLocation: 'US',
      allowedUpnDomains: ['contoso.onmicrosoft.com'],
      defaultSecurityRoles: [],
      businessUnit: null,
      nonInteractiveLimit: null,
    })),
  };
}
