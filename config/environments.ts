// The environments file (ENVIRONMENTS_FILE, JSON: `{"environments": [...]}`): its schema, and
// its loading into the environments the API and the activities use. Messages name the file,
// the entry's index and the field.
import { readFileSync } from 'node:fs';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { ConfigError, decodePointer, fieldProblem } from './errors';

const NonEmpty = (description: string) => Type.String({ minLength: 1, expected: 'a non-empty string', description });

/** One environment as the file gives it; fields the schema calls optional get defaults below. */
const Environment = Type.Object({
  name: Type.String({
    pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
    expected: 'lower-case letters, digits and dashes',
    description: 'Alias used in the API and the workflow id, e.g. `contoso-prod`',
  }),
  dataverseUrl: Type.String({
    format: 'url',
    expected: 'a URL',
    description: 'Dataverse organization URL, e.g. `https://contoso.crm.dynamics.com`',
  }),
  powerPlatformEnvironmentId: Type.Optional(
    NonEmpty("Power Platform environment id (for the admin API's addUser); default: the name"),
  ),
  licenseSku: NonEmpty('License SKU part number assigned during provisioning, e.g. `DYN365_ENTERPRISE_PLAN1`'),
  usageLocation: Type.String({
    pattern: '^[A-Z]{2}$',
    expected: 'an ISO 3166 alpha-2 code',
    description: 'Default usage location of the users',
  }),
  allowedUpnDomains: Type.Array(Type.String(), {
    minItems: 1,
    expected: 'a non-empty array of domain names',
    description: 'UPN domains a request may use in this environment',
  }),
  defaultSecurityRoles: Type.Optional(
    Type.Union([Type.Array(Type.String()), Type.Null()], {
      expected: 'an array of role names',
      description: 'Security roles assigned when the request names none',
    }),
  ),
  businessUnit: Type.Optional(
    Type.Union([Type.String(), Type.Null()], {
      expected: 'a string or null',
      description: 'Business unit assigned when the request names none; null: the root',
    }),
  ),
  nonInteractiveLimit: Type.Optional(
    Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      expected: 'a whole number or null',
      description: 'Override of the non-interactive user limit read from Dataverse',
    }),
  ),
});

export const EnvironmentsFile = Type.Object({
  environments: Type.Array(Environment, { minItems: 1 }),
});

type Entry = Static<typeof Environment>;

/** An environment as the code uses it: the file's entry with its optional fields filled in. */
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
  const [error] = Value.Errors(EnvironmentsFile, doc);
  if (error) {
    // instancePath: /environments/<index>/<field>/…
    const [, , index, field] = error.instancePath.split('/');
    if (index === undefined) throw new ConfigError(where, 'must contain a non-empty "environments" array');
    const at = `${where} environments[${index}]`;
    const item = (doc as Static<typeof EnvironmentsFile>).environments[Number(index)];
    if (field !== undefined) throw new ConfigError(at, fieldProblem(Environment, decodePointer(field), item));
    if (error.keyword === 'required') {
      throw new ConfigError(at, fieldProblem(Environment, error.params.requiredProperties[0]!, item, true));
    }
    throw new ConfigError(at, `must be a JSON object, got ${JSON.stringify(item)}`);
  }
  const seen = new Set<string>();
  return (doc as Static<typeof EnvironmentsFile>).environments.map((item, i) => {
    if (seen.has(item.name)) {
      throw new ConfigError(`${where} environments[${i}]`, `repeats the environment name "${item.name}"`);
    }
    seen.add(item.name);
    return {
      name: item.name,
      dataverseUrl: item.dataverseUrl.replace(/\/+$/, ''),
      powerPlatformEnvironmentId: item.powerPlatformEnvironmentId ?? item.name,
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

/** The environments of the sandbox's seed, for a sandbox listening at `sandboxUrl`. */
export function sandboxEnvironments(sandboxUrl: string): { environments: EnvironmentConfig[] } {
  const base = sandboxUrl.replace(/\/+$/, '');
  return {
    environments: ['contoso-prod', 'contoso-test'].map((name) => ({
      name,
      dataverseUrl: `${base}/dataverse/${name}`,
      powerPlatformEnvironmentId: name,
      licenseSku: 'DYN365_ENTERPRISE_PLAN1',
      usageLocation: 'US',
      allowedUpnDomains: ['contoso.onmicrosoft.com'],
      defaultSecurityRoles: [],
      businessUnit: null,
      nonInteractiveLimit: null,
    })),
  };
}
