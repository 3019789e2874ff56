// Contract tests of the forms of the sandbox's tokens for the API's own audience, as Entra issues
// them: v1.0 by default (issuer https://sts.windows.net/{tid}/, `aud` the App ID URI, `appid`),
// v2.0 when the API's registration asks for it (`apiTokenVersion` 2: issuer <authority>/{tid}/v2.0,
// `aud` the API's client id, `azp`), never v2.0 with an `api://` audience; the v1.0 metadata
// beside the v2.0 one, both pointing at the same keys; the Microsoft services' tokens unchanged.
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { API_SCOPE, GRAPH_SCOPE, credential } from '../helpers/sandbox';
import { useSandbox } from '../helpers/lifecycle';

const { sandbox, control } = useSandbox({ reset: true });

async function metadata(path: string) {
  const res = await fetch(`${sandbox.url}/${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** Verifies a token against the keys and issuer of the metadata at `path`; returns its claims. */
async function verified(token: string, path: string, audience: string) {
  const doc = (await metadata(path)).body;
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(doc.jwks_uri!)), {
    issuer: doc.issuer,
    audience,
    algorithms: ['RS256'],
  });
  return payload;
}

const v1Metadata = () => `${sandbox.tenantName}/.well-known/openid-configuration`;
const v2Metadata = () => `${sandbox.tenantName}/v2.0/.well-known/openid-configuration`;

describe('the v1.0 OpenID metadata', () => {
  test('names the v1.0 issuer of the tenant GUID, for the name and the GUID; its keys are the v2.0 keys', async () => {
    const byName = await metadata(v1Metadata());
    const byId = await metadata(`${sandbox.tenantId}/.well-known/openid-configuration`);
    expect(byName.status).toBe(200);
    expect(byId.body).toEqual(byName.body);
    expect(byName.body.issuer).toBe(`https://sts.windows.net/${sandbox.tenantId}/`);
    const v1Keys = await (await fetch(byName.body.jwks_uri!)).json();
    const v2Keys = await (await fetch((await metadata(v2Metadata())).body.jwks_uri!)).json();
    expect(v1Keys).toEqual(v2Keys);
    expect((await metadata('fabrikam.onmicrosoft.com/.well-known/openid-configuration')).body.error).toBe(
      'invalid_tenant',
    );
  });
});

describe("tokens for the API's audience", () => {
  test('v1.0 by default: sts.windows.net issuer, the App ID URI, appid; verified with the v1.0 metadata', async () => {
    const token = (await credential(sandbox, 'operator-client').getToken(API_SCOPE)).token;
    const claims = await verified(token, v1Metadata(), 'api://noninteractive-users');
    expect(claims).toMatchObject({
      iss: `https://sts.windows.net/${sandbox.tenantId}/`,
      aud: 'api://noninteractive-users',
      appid: 'operator-client',
      appidacr: '1',
      tid: sandbox.tenantId,
      ver: '1.0',
      roles: ['NonInteractiveUsers.ReadWrite'],
    });
    expect(claims.azp).toBeUndefined();
  });

  test("v2.0 with apiTokenVersion 2: the v2.0 issuer, the API's client id, azp; verified with the v2.0 metadata", async () => {
    const config = await control.config({ apiTokenVersion: 2 });
    expect(config.apiTokenVersion).toBe(2);
    const token = (await credential(sandbox, 'reader-client').getToken(API_SCOPE)).token;
    const claims = await verified(token, v2Metadata(), sandbox.apiClientId);
    expect(claims).toMatchObject({
      iss: `${sandbox.url}/${sandbox.tenantId}/v2.0`,
      aud: sandbox.apiClientId,
      azp: 'reader-client',
      azpacr: '1',
      ver: '2.0',
      roles: ['NonInteractiveUsers.Read'],
    });
    expect(claims.appid).toBeUndefined();
  });

  test("asked for by the API's client id: v1.0 names the client id (as Entra's v1.0 tokens do), v2.0 too", async () => {
    const scope = `${sandbox.apiClientId}/.default`;
    const v1 = decodeJwt((await credential(sandbox, 'operator-client').getToken(scope)).token);
    expect({ iss: v1.iss, aud: v1.aud, roles: v1.roles }).toEqual({
      iss: `https://sts.windows.net/${sandbox.tenantId}/`,
      aud: sandbox.apiClientId,
      roles: ['NonInteractiveUsers.ReadWrite'],
    });
    await control.config({ apiTokenVersion: 2 });
    const v2 = decodeJwt((await credential(sandbox, 'reader-client').getToken(scope)).token);
    expect({ iss: v2.iss, aud: v2.aud }).toEqual({
      iss: `${sandbox.url}/${sandbox.tenantId}/v2.0`,
      aud: sandbox.apiClientId,
    });
  });

  test('reset brings apiTokenVersion back to 1; only 1 and 2 are settings', async () => {
    await control.config({ apiTokenVersion: 2 });
    await control.reset();
    expect((await control.getConfig()).apiTokenVersion).toBe(1);
    const claims = decodeJwt((await credential(sandbox, 'operator-client').getToken(API_SCOPE)).token);
    expect(claims.ver).toBe('1.0');
    await expect(control.config({ apiTokenVersion: 3 })).rejects.toThrow(/'apiTokenVersion' must be 1 or 2/);
  });

  test("the Microsoft services' tokens keep their form whatever apiTokenVersion says", async () => {
    const graphClaims = async () => {
      const token = (await credential(sandbox).getToken(GRAPH_SCOPE, {})).token;
      const { iss, aud, ver, appid, azp } = await verified(token, v2Metadata(), 'https://graph.microsoft.com');
      return { iss, aud, ver, appid, azp };
    };
    const before = await graphClaims();
    await control.config({ apiTokenVersion: 2 });
    expect(await graphClaims()).toEqual(before);
    expect(before).toEqual({
      iss: `${sandbox.url}/${sandbox.tenantId}/v2.0`,
      aud: 'https://graph.microsoft.com',
      ver: '2.0',
      appid: 'provisioner-client',
      azp: 'provisioner-client',
    });
  });
});
