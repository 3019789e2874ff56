// How a client proves who it is at the token endpoint, checked as Entra ID checks it:
//  - a secret (client_secret);
//  - a client assertion (client_assertion_type jwt-bearer): either a JWT the client signed with
//    the key of a certificate registered on it (header x5t or x5t#S256 = the certificate's
//    thumbprint, RS256 or PS256, iss = sub = the client id, aud = the token endpoint, exp/nbf),
//    which is what MSAL's certificate credential sends; or a token of an external issuer that one
//    of the client's federated identity credentials trusts (same issuer and subject, audience
//    api://AzureADTokenExchange), which is what workload identity federation sends.
// The refusals carry Entra's codes and wording (Microsoft identity platform "certificate
// credentials", "workload identity federation", the AADSTS error reference and the Azure SDKs'
// troubleshooting guides).
import { compactVerify, decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { ClientCredentialRegistry, RegisteredCertificate } from './credentials';
import type { FederationIssuer } from './federation';
import type { Ctx } from './http';
import { oauthError } from './http';
import { TENANT_ID, TENANT_NAME, findClient } from './seed';
import type { Client } from './types';

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Clock skew tolerated on an assertion's nbf and exp. */
const SKEW_SECONDS = 300;
const ALGORITHMS = ['RS256', 'PS256'];
const CERTIFICATE_DOC =
  'Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .';
const FEDERATION_DOC =
  'Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

export interface ClientAuthDeps {
  credentials: ClientCredentialRegistry;
  federation: FederationIssuer;
}

export interface Authenticated {
  client: Client;
  /** '1': a secret; '2': a certificate or a federated assertion (the token's appidacr/azpacr). */
  acr: '1' | '2';
}

type Form = Record<string, string | undefined>;

const missing = (parameter: string) =>
  oauthError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${parameter}'.`);

const invalidClient = (code: number, description: string) => oauthError(401, 'invalid_client', code, description);

const malformed = () => invalidClient(50027, 'JWT token is invalid or malformed.');

function known(clientId: string): Client {
  const client = findClient(clientId);
  if (!client) {
    throw oauthError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${TENANT_NAME}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    );
  }
  return client;
}

/** Authenticates the client of a token request by its secret or its assertion. */
export async function authenticateClient(form: Form, ctx: Ctx, deps: ClientAuthDeps): Promise<Authenticated> {
  if (form.client_assertion === undefined && form.client_assertion_type === undefined) return bySecret(form);
  if (!form.client_assertion_type) throw missing('client_assertion_type');
  if (form.client_assertion_type !== ASSERTION_TYPE) {
    throw oauthError(
      400,
      'invalid_request',
      900144,
      `The value of 'client_assertion_type' must be '${ASSERTION_TYPE}'; got '${form.client_assertion_type}'.`,
    );
  }
  if (!form.client_assertion) {
    throw invalidClient(
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  let header: ProtectedHeaderParameters;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(form.client_assertion);
    claims = decodeJwt(form.client_assertion);
  } catch {
    throw malformed();
  }
  // A certificate assertion is issued by the client itself (iss = its id); a federated one by
  // an external issuer, named by its URL.
  const federated = typeof claims.iss === 'string' && /^https?:\/\//i.test(claims.iss);
  return federated
    ? byFederatedToken(form, form.client_assertion, claims, deps)
    : byCertificate(form, form.client_assertion, header, claims, ctx, deps);
}

function bySecret(form: Form): Authenticated {
  if (!form.client_id) throw missing('client_id');
  const client = known(form.client_id);
  if (form.client_secret === undefined) {
    throw invalidClient(
      7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
  }
  if (form.client_secret !== client.secret) {
    throw invalidClient(
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${client.clientId}'.`,
    );
  }
  return { client, acr: '1' };
}

/** exp is required, nbf optional; both with the tolerated skew. */
function checkLifetime(claims: JWTPayload): void {
  if (typeof claims.exp !== 'number') throw malformed();
  const now = Math.floor(Date.now() / 1000);
  const nbf = typeof claims.nbf === 'number' ? claims.nbf : null;
  if (now > claims.exp + SKEW_SECONDS || (nbf !== null && now < nbf - SKEW_SECONDS)) {
    const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
    throw invalidClient(
      700024,
      `Client assertion is not within its valid time range. Current time: ${iso(now)}, assertion valid from ${iso(nbf ?? 0)}, expiry time of assertion ${iso(claims.exp)}. ${CERTIFICATE_DOC}`,
    );
  }
}

/** The token endpoint URLs an assertion may name as its audience (v2.0 and v1.0, tenant by id or name). */
function tokenEndpoints(ctx: Ctx): string[] {
  return [TENANT_ID, TENANT_NAME].flatMap((tenant) =>
    ['oauth2/v2.0/token', 'oauth2/token'].map((p) => `${ctx.baseUrl}/${tenant}/${p}`.toLowerCase()),
  );
}

/** The registered certificate the header's thumbprint names (x5t#S256 preferred, else x5t). */
function certificateFor(header: ProtectedHeaderParameters, certificates: RegisteredCertificate[]) {
  const sha256 = header['x5t#S256'];
  const sha1 = header.x5t;
  const hex = (b64: unknown) =>
    typeof b64 === 'string' ? Buffer.from(b64, 'base64url').toString('hex').toUpperCase() : '';
  if (typeof sha256 === 'string') {
    const thumbprint = hex(sha256);
    return { thumbprint, cert: certificates.find((c) => c.thumbprintSha256 === thumbprint) };
  }
  if (typeof sha1 === 'string') {
    const thumbprint = hex(sha1);
    return { thumbprint, cert: certificates.find((c) => c.thumbprint === thumbprint) };
  }
  return null;
}

function keyPeriod(cert: RegisteredCertificate): string {
  const f = (d: Date) =>
    `${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${d.getUTCFullYear()} ${d.toISOString().slice(11, 19)}`;
  return `Found key 'Start=${f(cert.notBefore)}, End=${f(cert.notAfter)}'`;
}

async function byCertificate(
  form: Form,
  assertion: string,
  header: ProtectedHeaderParameters,
  claims: JWTPayload,
  ctx: Ctx,
  deps: ClientAuthDeps,
): Promise<Authenticated> {
  const clientId = form.client_id ?? claims.sub;
  if (!clientId) throw missing('client_id');
  const client = known(clientId);
  if (claims.iss !== clientId || claims.sub !== clientId) {
    throw invalidClient(
      700021,
      `Client assertion application identifier doesn't match 'client_id' parameter. ${CERTIFICATE_DOC}`,
    );
  }
  const found = certificateFor(header, deps.credentials.certificates(clientId));
  if (!found) throw invalidClient(50027, 'Invalid JWT token. No certificate thumbprint specified in token header.');
  const where = `Thumbprint of key used by client: '${found.thumbprint}'`;
  const portal = `Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.`;
  if (!found.cert) {
    throw invalidClient(
      700027,
      `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., ${where}, ${portal}]`,
    );
  }
  const now = Date.now();
  if (now < found.cert.notBefore.getTime() || now > found.cert.notAfter.getTime()) {
    throw invalidClient(
      700027,
      `Client assertion contains an invalid signature. [Reason - The key used is expired., ${where}, ${keyPeriod(found.cert)}, ${portal}]`,
    );
  }
  if (typeof header.alg !== 'string' || !ALGORITHMS.includes(header.alg)) throw malformed();
  try {
    await compactVerify(assertion, found.cert.publicKey, { algorithms: ALGORITHMS });
  } catch {
    throw invalidClient(
      700027,
      `Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed., ${where}, ${keyPeriod(found.cert)}, ${portal}]`,
    );
  }
  if (typeof claims.aud !== 'string' || !tokenEndpoints(ctx).includes(claims.aud.toLowerCase())) {
    throw invalidClient(700023, `Client assertion audience claim does not match Realm issuer. ${CERTIFICATE_DOC}`);
  }
  checkLifetime(claims);
  return { client, acr: '2' };
}

async function byFederatedToken(
  form: Form,
  assertion: string,
  claims: JWTPayload,
  deps: ClientAuthDeps,
): Promise<Authenticated> {
  if (!form.client_id) throw missing('client_id');
  const client = known(form.client_id);
  const issuer = claims.iss!;
  // Matching is case-sensitive, as Entra's is.
  const trusted = deps.credentials.get(client.clientId).federatedCredentials.filter((c) => c.issuer === issuer);
  if (!trusted.length) {
    throw invalidClient(
      700211,
      `No matching federated identity record found for presented assertion issuer '${issuer}'. ${FEDERATION_DOC}`,
    );
  }
  if (issuer !== deps.federation.issuer) {
    // Entra fetches the issuer's metadata and keys; the sandbox reaches only its own issuer.
    throw invalidClient(
      50166,
      `Request to External OIDC endpoint failed. The sandbox can verify tokens of its own issuer (${deps.federation.issuer}) only.`,
    );
  }
  if (!(await deps.federation.signed(assertion))) {
    throw invalidClient(700027, `Client assertion failed signature validation. Assertion issuer: '${issuer}'.`);
  }
  checkLifetime(claims);
  const bySubject = trusted.filter((c) => c.subject === claims.sub);
  if (!bySubject.length) {
    throw invalidClient(
      700213,
      `No matching federated identity record found for presented assertion subject '${String(claims.sub)}'. ${FEDERATION_DOC}`,
    );
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!bySubject.some((c) => c.audiences.some((a) => audiences.includes(a)))) {
    throw invalidClient(
      700212,
      `No matching federated identity record found for presented assertion audience '${audiences.join(', ')}'. ${FEDERATION_DOC}`,
    );
  }
  return { client, acr: '2' };
}
