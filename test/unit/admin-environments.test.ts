import { sameUrl } from '../../activities/admin-environments';

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
