import { sameUrl, securityGroupOf } from '../../activities/admin-environments';

describe('sameUrl: a configured Dataverse URL against the admin API instanceUrl', () => {
  test('case and trailing slashes do not count', () => {
    expect(sameUrl('https://Contoso.crm4.dynamics.com', 'https://contoso.crm4.dynamics.com/')).toBe(true);
    expect(sameUrl(' https://contoso.crm4.dynamics.com// ', 'https://CONTOSO.crm4.dynamics.com')).toBe(true);
  });
  test('another host or path is another environment', () => {
    expect(sameUrl('https://contoso.crm4.dynamics.com', 'https://contoso.crm.dynamics.com/')).toBe(false);
    expect(sameUrl('https://h/dataverse/contoso-prod', 'https://h/dataverse/contoso-prod-2/')).toBe(false);
  });
});

describe("securityGroupOf: an environment's group in its admin view", () => {
  const view = (securityGroupId?: string | null) => ({
    name: 'e',
    properties: { linkedEnvironmentMetadata: { instanceUrl: 'https://x/', securityGroupId } },
  });
  test('a group id, in lower case', () => {
    expect(securityGroupOf(view('0D4C5B6A-7E8F-4A1B-9C2D-3E4F5A6B7C8D'))).toBe('0d4c5b6a-7e8f-4a1b-9c2d-3e4f5a6b7c8d');
  });
  test('none: absent, null, empty, or the zero GUID (as the Terraform provider reads an environment without one)', () => {
    expect(securityGroupOf(view())).toBeNull();
    expect(securityGroupOf(view(null))).toBeNull();
    expect(securityGroupOf(view(''))).toBeNull();
    expect(securityGroupOf(view('00000000-0000-0000-0000-000000000000'))).toBeNull();
    expect(securityGroupOf({ name: 'e' })).toBeNull();
  });
});
