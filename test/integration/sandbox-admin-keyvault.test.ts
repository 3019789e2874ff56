// Contract tests of the sandbox's Power Platform admin API (addUser, with fetch as the worker
// calls it) and its Key Vault secrets (the real @azure/keyvault-secrets SecretClient).
import { SecretClient } from '@azure/keyvault-secrets';

import {
  DOMAIN,
  GRAPH_SCOPE,
  POWERPLATFORM_SCOPE,
  addUser,
  caught,
  createUser,
  credential,
  dataverseClient,
  license,
  sleep,
} from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';

const { sandbox, control, graph } = useSandbox({ reset: true });

const ADMIN = '/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments';

describe('Power Platform admin: addUser', () => {
  test('answers userNotLicensed until the license has propagated, then syncs the user at once', async () => {
    await control.config({ syncDelayMs: 600_000, licensePropagationMs: 1_500 });
    const objectId = await createUser(graph, `force@${DOMAIN}`);
    const unlicensed = await addUser(sandbox, 'contoso-prod', objectId);
    expect(unlicensed.status).toBe(400);
    expect(unlicensed.body).toMatchObject({ error: { code: 'userNotLicensed' } });
    await license(graph, objectId);
    const early = await addUser(sandbox, 'contoso-prod', objectId);
    expect(early.body).toMatchObject({ error: { code: 'userNotLicensed' } });
    await sleep(1_550);
    const ok = await addUser(sandbox, 'contoso-prod', objectId);
    expect(ok.status).toBe(200);
    const found = await dataverseClient(sandbox, 'contoso-prod').retrieveMultiple<{ systemuserid: string }>({
      collection: 'systemusers',
      filter: `azureactivedirectoryobjectid eq ${objectId}`,
    });
    expect(found.value).toHaveLength(1);
    expect(ok.body.systemUserId).toBe(found.value![0]!.systemuserid);
    // Forced into contoso-prod only: contoso-test still waits for its (long) sync.
    const other = await dataverseClient(sandbox, 'contoso-test').retrieveMultiple({
      collection: 'systemusers',
      filter: `azureactivedirectoryobjectid eq ${objectId}`,
    });
    expect(other.value).toHaveLength(0);
  });

  test('unknown environment, unknown user, missing api-version and bad bodies', async () => {
    const token = (await credential(sandbox).getToken(POWERPLATFORM_SCOPE)).token;
    const post = (path: string, body: unknown) =>
      fetch(`${sandbox.url}${ADMIN}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error: { code: string } } }));
    expect(await addUser(sandbox, 'contoso-dev', '00000000-0000-0000-0000-000000000001', token)).toMatchObject({
      status: 404,
      body: { error: { code: 'EnvironmentNotFound' } },
    });
    expect(await addUser(sandbox, 'contoso-prod', '00000000-0000-0000-0000-000000000001', token)).toMatchObject({
      status: 404,
      body: { error: { code: 'UserNotFound' } },
    });
    const noVersion = await post('/contoso-prod/addUser', { objectId: '00000000-0000-0000-0000-000000000001' });
    expect(noVersion).toMatchObject({ status: 400, body: { error: { code: 'MissingApiVersionParameter' } } });
    const bad = await post('/contoso-prod/addUser?api-version=2023-06-01', { objectId: 'me' });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'InvalidRequestContent' } } });
  });

  test('lists the environments with their Dataverse instance URLs', async () => {
    const token = (await credential(sandbox).getToken(POWERPLATFORM_SCOPE)).token;
    const res = await fetch(`${sandbox.url}${ADMIN}?api-version=2023-06-01`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json()) as {
      value: { name: string; properties: { linkedEnvironmentMetadata: { instanceUrl: string } } }[];
    };
    expect(body.value.map((e) => [e.name, e.properties.linkedEnvironmentMetadata.instanceUrl])).toEqual([
      ['contoso-prod', `${sandbox.url}/dataverse/contoso-prod/`],
      ['contoso-test', `${sandbox.url}/dataverse/contoso-test/`],
    ]);
  });

  test('401 without a token or with another audience; 403 for a client that is not a management app', async () => {
    const id = '00000000-0000-0000-0000-000000000001';
    const none = await fetch(`${sandbox.url}${ADMIN}/contoso-prod/addUser?api-version=2023-06-01`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ objectId: id }),
    });
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('MissingAuthenticationToken');
    const graphToken = (await credential(sandbox).getToken(GRAPH_SCOPE)).token;
    expect(await addUser(sandbox, 'contoso-prod', id, graphToken)).toMatchObject({
      status: 401,
      body: { error: { code: 'InvalidAuthenticationToken' } },
    });
    const operator = (await credential(sandbox, 'operator-client').getToken(POWERPLATFORM_SCOPE)).token;
    expect(await addUser(sandbox, 'contoso-prod', id, operator)).toMatchObject({
      status: 403,
      body: { error: { code: 'Forbidden' } },
    });
  });
});

describe('Key Vault secrets', () => {
  const vault = (clientId = 'provisioner-client', tenant?: string, verify = false) =>
    new SecretClient(sandbox.url, credential(sandbox, clientId, undefined, tenant ?? sandbox.tenantId), {
      disableChallengeResourceVerification: !verify,
    });

  test('a request without a token gets the 401 challenge naming the authority and resource', async () => {
    const res = await fetch(`${sandbox.url}/secrets/anything?api-version=2025-07-01`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer authorization="${sandbox.url}/${sandbox.tenantId}", resource="https://vault.azure.net"`,
    );
    expect(await res.json()).toEqual({
      error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' },
    });
  });

  test('SecretClient sets and gets secrets, with versions and ids under the vault URL', async () => {
    const client = vault();
    const first = await client.setSecret('niu-password', 'first value', {
      contentType: 'text/plain',
      tags: { upn: 'a' },
    });
    expect(first.properties.id).toMatch(new RegExp(`^${sandbox.url}/secrets/niu-password/[0-9a-f]{32}$`));
    expect(first.properties.vaultUrl).toBe(sandbox.url);
    const second = await client.setSecret('niu-password', 'second value');
    expect((await client.getSecret('niu-password')).value).toBe('second value');
    const old = await client.getSecret('niu-password', { version: first.properties.version! });
    expect(old).toMatchObject({ value: 'first value', properties: { contentType: 'text/plain', tags: { upn: 'a' } } });
    expect(second.properties.version).not.toBe(first.properties.version);
    expect((await control.state()).secrets).toEqual(['niu-password']);
  });

  test('a missing secret is 404 SecretNotFound', async () => {
    const err = await caught(vault().getSecret('nothing-here'));
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('SecretNotFound');
  });

  test('without disableChallengeResourceVerification the client refuses the sandbox host', async () => {
    const err = await caught(vault('provisioner-client', undefined, true).getSecret('x'));
    expect(String(err.message)).toMatch(/challenge resource .* does not match the requested domain/);
  });

  test('the challenge names the tenant GUID: a credential for the domain name must allow it', async () => {
    const err = await caught(vault('provisioner-client', sandbox.tenantName).getSecret('x'));
    expect(String(err.message)).toMatch(new RegExp(`not configured to acquire tokens for tenant ${sandbox.tenantId}`));
  });

  test('a token for another audience is 401; a client without an access policy is 403', async () => {
    const graphToken = (await credential(sandbox).getToken(GRAPH_SCOPE)).token;
    const res = await fetch(`${sandbox.url}/secrets/x?api-version=2025-07-01`, {
      headers: { authorization: `Bearer ${graphToken}` },
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^AKV10022: Invalid audience/);
    const err = await caught(vault('operator-client').getSecret('x'));
    expect(err.statusCode).toBe(403);
    expect(err.code).toBe('Forbidden');
  });

  test('keyVaultAccess takes the access away (and gives it) on the next call, without a new token', async () => {
    const client = vault();
    await client.setSecret('niu-access', 'v');
    await control.config({ clients: { 'provisioner-client': { keyVaultAccess: false } } });
    const denied = await caught(client.setSecret('niu-access', 'w'));
    expect({ status: denied.statusCode, code: denied.code }).toEqual({ status: 403, code: 'Forbidden' });
    expect(String(denied.message)).toMatch(/does not have secrets set permission/);
    await control.config({ clients: { 'provisioner-client': { keyVaultAccess: true } } });
    expect((await client.getSecret('niu-access')).value).toBe('v');
  });

  test('deletion is soft: the deleted secret is readable and recoverable, and its name taken until then', async () => {
    const client = vault();
    const set = await client.setSecret('niu-deleted', 'kept value', { tags: { upn: 'd' } });
    const deletion = await client.beginDeleteSecret('niu-deleted', { intervalInMs: 50 });
    const deleted = await deletion.pollUntilDone();
    expect(deleted.properties.recoveryId).toBe(`${sandbox.url}/deletedsecrets/niu-deleted`);
    expect(deleted.properties.id).toBe(set.properties.id);
    expect(deleted.value).toBeUndefined();
    expect(deleted.properties.scheduledPurgeDate!.getTime() - deleted.properties.deletedOn!.getTime()).toBe(
      90 * 24 * 3600 * 1000,
    );
    expect((await caught(client.getSecret('niu-deleted'))).statusCode).toBe(404);
    expect((await client.getDeletedSecret('niu-deleted')).properties.tags).toEqual({ upn: 'd' });
    expect(await control.state()).toMatchObject({ secrets: [], deletedSecrets: ['niu-deleted'] });

    const reused = await caught(client.setSecret('niu-deleted', 'new value'));
    expect({ status: reused.statusCode, code: reused.code }).toEqual({ status: 409, code: 'Conflict' });
    expect(String(reused.message)).toMatch(/deleted but recoverable state/);
    // Deleting it again: 404, as the secret is no longer there.
    expect((await caught(client.beginDeleteSecret('niu-deleted'))).statusCode).toBe(404);

    const recovery = await client.beginRecoverDeletedSecret('niu-deleted', { intervalInMs: 50 });
    expect((await recovery.pollUntilDone()).id).toBe(set.properties.id);
    expect((await client.getSecret('niu-deleted')).value).toBe('kept value');
    await client.setSecret('niu-deleted', 'new value');
    expect((await control.state()).secretVersions['niu-deleted']).toHaveLength(2);
    expect((await caught(client.getDeletedSecret('niu-deleted'))).statusCode).toBe(404);
  });
});
