// What the sandbox's Entra ID credential tests share: the token endpoint called by hand, Entra's
// refusals, and certificate assertions built as ClientCertificateCredential builds them.
import { createHash, createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { GRAPH_SCOPE } from './sandbox';

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const SUBJECT = 'system:serviceaccount:noninteractive-users:worker';

interface SandboxAt {
  url: string;
  tenantId: string;
  tenantName: string;
}

/** The token endpoint of `sandbox`, called by hand, and the options of a credential pointed at it. */
export function entraOf(sandbox: SandboxAt) {
  const tokenRequest = async (form: Record<string, string>) => {
    const res = await fetch(`${sandbox.url}/${sandbox.tenantName}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: GRAPH_SCOPE, ...form }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    options: () => ({ authorityHost: sandbox.url, disableInstanceDiscovery: true }),
    tokenRequest,
    /** The token request of a client assertion. */
    withAssertion: (assertion: string, clientId = 'provisioner-client') =>
      tokenRequest({ client_id: clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: assertion }),
    /** A certificate assertion as the certificate credential builds one; `claims`/`header` override. */
    async certificateAssertion(
      key: ReturnType<typeof pem>['key'],
      header: Record<string, unknown>,
      claims: Record<string, unknown> = {},
    ): Promise<string> {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        aud: `${sandbox.url}/${sandbox.tenantId}/oauth2/v2.0/token`,
        iss: 'provisioner-client',
        sub: 'provisioner-client',
        jti: randomUUID(),
        nbf: now,
        exp: now + 600,
        ...claims,
      })
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...header })
        .sign(key);
    },
  };
}

/** Expects Entra's refusal: status, error, AADSTS code, and the description's start. */
export function refused(
  res: { status: number; body: Record<string, unknown> },
  code: number,
  text: RegExp,
  status = 401,
) {
  expect({ status: res.status, error: res.body.error, codes: res.body.error_codes }).toEqual({
    status,
    error: status === 401 ? 'invalid_client' : 'invalid_request',
    codes: [code],
  });
  expect(String(res.body.error_description)).toMatch(new RegExp(`^AADSTS${code}: ${text.source}`));
}

/** A PEM file of a certificate and its key (the provisioner's, seeded, or a stranger's). */
export function pem(file: string) {
  const text = readFileSync(file, 'utf8');
  const cert = new X509Certificate(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)![0]);
  const thumb = (alg: string) => createHash(alg).update(cert.raw).digest('base64url');
  return {
    file,
    key: createPrivateKey(text),
    certificate: cert.toString(),
    x5t: thumb('sha1'),
    x5tS256: thumb('sha256'),
  };
}
