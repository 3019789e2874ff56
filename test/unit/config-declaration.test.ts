// The schemas of config/: each kind of bad value gets a message naming where it is, what was
// expected and what was got.
import { ConfigError, parseEnvironments, sandboxEnvironments } from '../../config';

/** The error `fn` throws (undefined if none). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('the environments file schema', () => {
  const valid = () =>
    sandboxEnvironments('https://example.test').environments[0]! as unknown as Record<string, unknown>;
  const file = (...environments: Record<string, unknown>[]) => JSON.stringify({ environments });
  const where = 'Configuration error: ENVIRONMENTS_FILE (envs.json)';

  test.each([
    [
      'a bad field of the second entry',
      file(valid(), { ...valid(), name: 'contoso-dev', usageLocation: 'usa' }),
      `${where} environments[1] field "usageLocation" must be an ISO 3166 alpha-2 code, got "usa"`,
    ],
    [
      'a missing field',
      file({ ...valid(), licenseSku: undefined }),
      `${where} environments[0] needs field "licenseSku" (a non-empty string)`,
    ],
    [
      'one bad item of a list',
      file({ ...valid(), allowedUpnDomains: ['contoso.com', 7] }),
      `${where} environments[0] field "allowedUpnDomains" must be a non-empty array of domain names, got ["contoso.com",7]`,
    ],
    [
      'an entry that is not an object',
      file(valid(), 'contoso-test' as unknown as Record<string, unknown>),
      `${where} environments[1] must be a JSON object, got "contoso-test"`,
    ],
    ['no environments array', '{"environment": []}', `${where} must contain a non-empty "environments" array`],
  ])('%s is refused with the index and the field', (_label, text, message) => {
    const error = thrown(() => parseEnvironments(text, 'envs.json'));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(message);
  });

  test('optional fields get their defaults; null lists of roles count as none', () => {
    const { powerPlatformEnvironmentId: _id, businessUnit: _bu, nonInteractiveLimit: _limit, ...rest } = valid();
    const [env] = parseEnvironments(file({ ...rest, defaultSecurityRoles: null }), 'envs.json');
    expect(env).toMatchObject({
      powerPlatformEnvironmentId: 'contoso-prod',
      defaultSecurityRoles: [],
      businessUnit: null,
      nonInteractiveLimit: null,
    });
  });
});
