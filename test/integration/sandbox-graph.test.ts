// Contract tests of the sandbox's Microsoft Graph, driven through the real Graph SDK client
// (baseUrl + customHosts) with tokens from ClientSecretCredential: users, $select/$filter,
// paging, Graph's error bodies, and token rejection. Licenses, seats and group membership:
// sandbox-graph-licenses-groups.test.ts.
import { PageIterator } from '@microsoft/microsoft-graph-client';
import {
  DOMAIN,
  GRAPH_SCOPE,
  SKU_ID,
  createUser,
  credential,
  dataverseUrl,
  graphClient,
  graphClientWithToken,
  type GraphErrorBody,
  graphError,
  password,
  sleep,
} from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';

const { sandbox, control, graph } = useSandbox({ reset: true });

describe('users', () => {
  test('POST creates a user and answers 201 with the default property set, never the password', async () => {
    const created = (await graph.api('/users').post({
      accountEnabled: true,
      displayName: 'ERP integration',
      mailNickname: 'svc-erp',
      userPrincipalName: `svc-erp@${DOMAIN}`,
      usageLocation: 'US',
      employeeType: 'noninteractive-users',
      companyName: 'niu:contoso-prod',
      passwordProfile: { password: password(), forceChangePasswordNextSignIn: true },
    })) as Record<string, unknown>;
    expect(created['@odata.context']).toBe(`${sandbox.url}/v1.0/$metadata#users/$entity`);
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created).toMatchObject({
      displayName: 'ERP integration',
      userPrincipalName: `svc-erp@${DOMAIN}`,
      businessPhones: [],
    });
    expect(created).not.toHaveProperty('passwordProfile');
    expect(created).not.toHaveProperty('employeeType'); // not in the default set
    const state = await control.state();
    expect(state.users).toHaveLength(1);
    expect(state.users[0]).toMatchObject({ id: created.id, passwordSet: true, employeeType: 'noninteractive-users' });
    expect(JSON.stringify(state)).not.toContain('password":');
  });

  test('GET by id or by UPN (any case), with $select of the marker properties', async () => {
    const id = await createUser(graph, `svc-a@${DOMAIN}`, { employeeType: 'niu', companyName: 'c', department: 'd' });
    const select =
      'id,userPrincipalName,employeeType,companyName,department,accountEnabled,usageLocation,assignedLicenses';
    const byId = (await graph.api(`/users/${id}`).select(select).get()) as Record<string, unknown>;
    const byUpn = (await graph.api(`/users/SVC-A@${DOMAIN.toUpperCase()}`).select(select).get()) as Record<
      string,
      unknown
    >;
    expect(byUpn).toEqual(byId);
    expect(byId).toEqual({
      '@odata.context': `${sandbox.url}/v1.0/$metadata#users(${select})/$entity`,
      id,
      userPrincipalName: `svc-a@${DOMAIN}`,
      employeeType: 'niu',
      companyName: 'c',
      department: 'd',
      accountEnabled: true,
      usageLocation: 'US',
      assignedLicenses: [],
    });
  });

  test('PATCH updates properties (204) and DELETE removes the user (then 404)', async () => {
    const id = await createUser(graph, `svc-b@${DOMAIN}`);
    await graph.api(`/users/${id}`).patch({ accountEnabled: false, department: 'Integrations', usageLocation: 'de' });
    const after = (await graph.api(`/users/${id}`).select('accountEnabled,department,usageLocation').get()) as Record<
      string,
      unknown
    >;
    expect(after).toMatchObject({ accountEnabled: false, department: 'Integrations', usageLocation: 'DE' });
    await graph.api(`/users/${id}`).delete();
    const gone = await graphError(graph.api(`/users/${id}`).get());
    expect(gone.status).toBe(404);
    expect(gone.code).toBe('Request_ResourceNotFound');
    expect(gone.body.error.message).toBe(
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`,
    );
    expect(gone.body.error.innerError).toMatchObject({ 'request-id': expect.any(String), date: expect.any(String) });
    expect((await control.state()).deletedUsers.map((u) => u.id)).toEqual([id]);
  });

  test('passwordPolicies: written on POST and PATCH, returned only on $select, checked against its values', async () => {
    const id = await createUser(graph, `svc-pp@${DOMAIN}`, { passwordPolicies: 'DisablePasswordExpiration' });
    const read = async () =>
      (await graph.api(`/users/${id}`).select('passwordPolicies').get()) as Record<string, unknown>;
    expect(await read()).toMatchObject({ passwordPolicies: 'DisablePasswordExpiration' });
    expect(await graph.api(`/users/${id}`).get()).not.toHaveProperty('passwordPolicies');
    await graph.api(`/users/${id}`).patch({ passwordPolicies: 'DisablePasswordExpiration, DisableStrongPassword' });
    expect((await read()).passwordPolicies).toBe('DisablePasswordExpiration, DisableStrongPassword');
    const found = (await graph
      .api('/users')
      .filter("passwordPolicies ne null and startswith(userPrincipalName,'svc-pp')")
      .get()) as { value: { id: string }[] };
    expect(found.value.map((u) => u.id)).toEqual([id]);
    await graph.api(`/users/${id}`).patch({ passwordPolicies: 'None' });
    expect((await read()).passwordPolicies).toBeNull();
    for (const bad of ['NeverExpire', 'DisablePasswordExpiration,DisablePasswordExpiration', 7]) {
      const refused = await graphError(graph.api(`/users/${id}`).patch({ passwordPolicies: bad }));
      expect(refused.status).toBe(400);
      expect(refused.body.error.message).toBe(
        "Invalid value specified for property 'passwordPolicies' of resource 'User'.",
      );
    }
  });

  test('$filter on userPrincipalName (eq, with an escaped quote), startswith and employeeType', async () => {
    await createUser(graph, `o'brien@${DOMAIN}`, { mailNickname: 'obrien', employeeType: 'niu' });
    await createUser(graph, `svc-x@${DOMAIN}`, { employeeType: 'niu' });
    await createUser(graph, `human@${DOMAIN}`);
    const eq = (await graph
      .api('/users')
      .filter(`userPrincipalName eq 'O''Brien@${DOMAIN}'`)
      .select('userPrincipalName')
      .get()) as { value: { userPrincipalName: string }[] };
    expect(eq.value.map((u) => u.userPrincipalName)).toEqual([`o'brien@${DOMAIN}`]);
    const starts = (await graph.api('/users').filter(`startswith(userPrincipalName,'svc-')`).get()) as {
      value: { userPrincipalName: string }[];
    };
    expect(starts.value.map((u) => u.userPrincipalName)).toEqual([`svc-x@${DOMAIN}`]);
    const marked = (await graph.api('/users').filter(`employeeType eq 'niu' and accountEnabled eq true`).get()) as {
      value: unknown[];
    };
    expect(marked.value).toHaveLength(2);
    const listed = (await graph
      .api('/users')
      .filter(`userPrincipalName in ('svc-x@${DOMAIN}', 'human@${DOMAIN}', 'nobody@${DOMAIN}')`)
      .get()) as { value: unknown[] };
    expect(listed.value).toHaveLength(2);
    const licensed = (await graph.api('/users').filter(`assignedLicenses/any(x:x/skuId eq ${SKU_ID})`).get()) as {
      value: unknown[];
    };
    expect(licensed.value).toHaveLength(0);
  });

  test('$top pages with @odata.nextLink, which the SDK PageIterator follows to the end', async () => {
    for (let i = 0; i < 5; i++) await createUser(graph, `page-${i}@${DOMAIN}`);
    const first = (await graph.api('/users').top(2).select('userPrincipalName').get()) as {
      value: unknown[];
      '@odata.nextLink'?: string;
    };
    expect(first.value).toHaveLength(2);
    expect(first['@odata.nextLink']).toMatch(new RegExp(`^${sandbox.url}/v1.0/users\\?.*\\$skiptoken=`));
    const seen: string[] = [];
    const iterator = new PageIterator(graph, first as never, (u: { userPrincipalName: string }) => {
      seen.push(u.userPrincipalName);
      return true;
    });
    await iterator.iterate();
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `page-${i}@${DOMAIN}`));
    const requests = await control.requests({ service: 'graph', method: 'GET', path: '^/v1.0/users\\?' });
    expect(requests).toHaveLength(3);
  });

  test('$orderby sorts (descending here); an unknown property is rejected', async () => {
    for (const n of ['b', 'c', 'a']) await createUser(graph, `order-${n}@${DOMAIN}`);
    const res = (await graph.api('/users').orderby('userPrincipalName desc').select('userPrincipalName').get()) as {
      value: { userPrincipalName: string }[];
    };
    expect(res.value.map((u) => u.userPrincipalName)).toEqual(['c', 'b', 'a'].map((n) => `order-${n}@${DOMAIN}`));
    const err = await graphError(graph.api('/users').orderby('shoeSize').get());
    expect(err.status).toBe(400);
  });

  test('a duplicate UPN is 400 Request_BadRequest with ObjectConflict', async () => {
    await createUser(graph, `dup@${DOMAIN}`);
    const err = await graphError(createUser(graph, `DUP@${DOMAIN}`));
    expect(err.status).toBe(400);
    expect(err.code).toBe('Request_BadRequest');
    expect(err.body.error.message).toBe(
      'Another object with the same value for property userPrincipalName already exists.',
    );
    expect(err.body.error.details).toEqual([
      expect.objectContaining({ code: 'ObjectConflict', target: 'userPrincipalName' }),
    ]);
  });

  test("a UPN's user name takes Microsoft's characters (' . - _ ! # ^ ~) and no others", async () => {
    // KB 2439357: letters, digits and ' . - _ ! # ^ ~; no period just before the @; up to 64.
    const ok = `o'brien.svc-erp_1!#^~@${DOMAIN}`;
    const id = await createUser(graph, ok);
    const got = (await graph
      .api(`/users/${encodeURIComponent(ok)}`)
      .select('id,userPrincipalName')
      .get()) as {
      id: string;
      userPrincipalName: string;
    };
    expect(got).toMatchObject({ id, userPrincipalName: ok });
    for (const bad of [`plus+tag@${DOMAIN}`, `a&b@${DOMAIN}`, `dot.@${DOMAIN}`, `${'x'.repeat(65)}@${DOMAIN}`]) {
      const err = await graphError(createUser(graph, bad, { mailNickname: 'svc' }));
      expect({ bad, status: err.status, details: err.body.error.details }).toEqual({
        bad,
        status: 400,
        details: [expect.objectContaining({ code: 'InvalidValue', target: 'userPrincipalName' })],
      });
    }
  });

  test('a UPN outside the verified domains, a weak password, missing and unknown properties are rejected', async () => {
    const domain = await graphError(createUser(graph, 'svc@fabrikam.com'));
    expect(domain.status).toBe(400);
    expect(domain.body.error.message).toMatch(/domain portion of the userPrincipalName property is invalid/);
    const weak = await graphError(createUser(graph, `weak@${DOMAIN}`, { passwordProfile: { password: 'password' } }));
    expect(weak.body.error.message).toMatch(/does not comply with password complexity requirements/);
    const missing = await graphError(
      graph.api('/users').post({
        accountEnabled: true,
        displayName: 'x',
        userPrincipalName: `m@${DOMAIN}`,
        passwordProfile: { password: password() },
      }),
    );
    expect(missing.body.error.message).toBe("Invalid value specified for property 'mailNickname' of resource 'User'.");
    const unknown = await graphError(createUser(graph, `u@${DOMAIN}`, { favouriteColour: 'blue' } as never));
    expect(unknown.body.error.message).toBe(
      "Property 'favouriteColour' does not exist as a declared property or extension property.",
    );
    const readOnly = await graphError(createUser(graph, `r@${DOMAIN}`, { assignedLicenses: [] }));
    expect(readOnly.body.error.message).toMatch(/read-only/);
    const badLocation = await graphError(createUser(graph, `l@${DOMAIN}`, { usageLocation: 'USA' }));
    expect(badLocation.body.error.message).toBe(
      "Invalid value specified for property 'usageLocation' of resource 'User'.",
    );
    expect((await control.state()).users).toHaveLength(0);
  });

  test('malformed or unsupported queries are 400 with the position or the property', async () => {
    const syntax = await graphError(graph.api('/users').filter("userPrincipalName eq 'unterminated").get());
    expect(syntax.status).toBe(400);
    expect(syntax.body.error.message).toMatch(/^Invalid filter clause: Syntax error/);
    const property = await graphError(graph.api('/users').filter("shoeSize eq '9'").get());
    expect(property.body.error.message).toContain(
      "Could not find a property named 'shoeSize' on type 'microsoft.graph.user'",
    );
    const select = await graphError(graph.api('/users').select('id,shoeSize').get());
    expect(select.body.error.message).toContain("Could not find a property named 'shoeSize'");
    const top = await graphError(graph.api('/users').top(1000).get());
    expect(top.body.error.message).toMatch(/Invalid page size/);
  });

  test('a newly created user can be briefly invisible (replicationDelayMs)', async () => {
    await control.config({ replicationDelayMs: 1_500 });
    const id = await createUser(graph, `fresh@${DOMAIN}`);
    expect((await graphError(graph.api(`/users/${id}`).get())).status).toBe(404);
    await sleep(1_600);
    expect(((await graph.api(`/users/${id}`).get()) as { id: string }).id).toBe(id);
  });
});

describe('authentication and authorization', () => {
  test('no token: 401 InvalidAuthenticationToken with a challenge', async () => {
    const res = await fetch(`${sandbox.url}/v1.0/users`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const body = (await res.json()) as GraphErrorBody;
    expect(body.error).toMatchObject({ code: 'InvalidAuthenticationToken', message: 'Access token is empty.' });
  });

  test('a token for another audience is rejected', async () => {
    const token = (await credential(sandbox).getToken(`${dataverseUrl(sandbox, 'contoso-prod')}/.default`)).token;
    const err = await graphError(graphClientWithToken(sandbox, token).api('/users').get());
    expect(err.status).toBe(401);
    expect(err.code).toBe('InvalidAuthenticationToken');
    expect(err.body.error.message).toBe('Access token validation failure. Invalid audience.');
  });

  test('an expired token is rejected', async () => {
    await control.config({ tokenLifetimeSeconds: 3 });
    const token = (await credential(sandbox).getToken(GRAPH_SCOPE)).token;
    const client = graphClientWithToken(sandbox, token);
    await client.api('/users').get(); // valid while fresh
    await sleep(3_100);
    const err = await graphError(client.api('/users').get());
    expect(err.status).toBe(401);
    expect(err.body.error.message).toBe('Lifetime validation failed, the token is expired.');
  });

  test('a tampered token (payload changed, signature kept) is rejected', async () => {
    const token = (await credential(sandbox, 'operator-client').getToken(GRAPH_SCOPE)).token;
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    claims.roles = ['User.ReadWrite.All'];
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    const err = await graphError(graphClientWithToken(sandbox, forged).api('/users').get());
    expect(err.status).toBe(401);
    expect(err.body.error.message).toMatch(/Invalid signature/);
  });

  test('a valid token without the application permission is 403 Authorization_RequestDenied', async () => {
    const operatorGraph = graphClient(sandbox, credential(sandbox, 'operator-client'));
    const err = await graphError(operatorGraph.api('/users').get());
    expect(err.status).toBe(403);
    expect(err.code).toBe('Authorization_RequestDenied');
    expect(err.body.error.message).toBe('Insufficient privileges to complete the operation.');
  });
});
