// An external OpenID Connect issuer inside the sandbox, at <base>/_federation: the stand-in for
// a Kubernetes service-account issuer, GitHub Actions or any other workload identity provider
// whose tokens an app registration's federated identity credentials trust. It publishes its
// metadata and keys (its own key, not Entra's) and mints tokens through the control API
// (`POST /_sandbox/federation/token`), which tests write to the file WorkloadIdentityCredential
// reads (AZURE_FEDERATED_TOKEN_FILE).
import { randomUUID } from 'node:crypto';
import { type CryptoKey, type JWK, SignJWT, compactVerify, importJWK } from 'jose';
import type { Ctx, Reply } from './http';
import { HttpError, isObject, json } from './http';
import { TOKEN_EXCHANGE_AUDIENCE } from './seed';
import { signingKey } from './tokens';

export interface MintRequest {
  subject: string;
  audience?: string;
  /** Seconds from now until it expires (default 3600); zero or less mints one already expired. */
  lifetimeSeconds?: number;
}

export class FederationIssuer {
  private verifyKey: Promise<CryptoKey> | null = null;

  private constructor(
    readonly issuer: string,
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: JWK,
    private readonly kid: string,
  ) {}

  /** The issuer at `<baseUrl>/_federation`, its key loaded from `keyFile` (or generated and saved there). */
  static async create(baseUrl: string, keyFile?: string): Promise<FederationIssuer> {
    const key = await signingKey(keyFile);
    return new FederationIssuer(`${baseUrl}/_federation`, key.privateKey, key.publicJwk, key.kid);
  }

  metadata(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: `${this.issuer}/keys`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'jti'],
    };
  }

  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.publicJwk, kid: this.kid, use: 'sig', alg: 'RS256' }] };
  }

  async mint(request: MintRequest): Promise<{ token: string; expiresOn: number }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + (request.lifetimeSeconds ?? 3600);
    // An expired token was valid for ten minutes before it expired.
    const issued = Math.min(now, exp - 600);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.issuer)
      .setSubject(request.subject)
      .setAudience(request.audience ?? TOKEN_EXCHANGE_AUDIENCE)
      .setIssuedAt(issued)
      .setNotBefore(issued)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.privateKey);
    return { token, expiresOn: exp };
  }

  /** Whether `token` carries a valid signature of this issuer's key (claims are the caller's to check). */
  async signed(token: string): Promise<boolean> {
    this.verifyKey ??= importJWK({ ...this.publicJwk, alg: 'RS256' }, 'RS256') as Promise<CryptoKey>;
    try {
      await compactVerify(token, await this.verifyKey, { algorithms: ['RS256'] });
      return true;
    } catch {
      return false;
    }
  }
}

/** GET /_federation/.well-known/openid-configuration and /_federation/keys. */
export function handleFederation(ctx: Ctx, federation: FederationIssuer, tail: string): Reply {
  if (ctx.method === 'GET' && tail === '.well-known/openid-configuration') return json(200, federation.metadata());
  if (ctx.method === 'GET' && tail === 'keys') return json(200, federation.jwks());
  return json(404, { error: 'not_found', error_description: `${ctx.path} is not a route of the federation issuer.` });
}

/** The control route's body: `{subject, audience?, lifetimeSeconds?}`. */
export function mintRequest(body: unknown): MintRequest {
  const bad = (message: string) => new HttpError(json(400, { error: { code: 'BadRequest', message } }));
  if (!isObject(body)) throw bad('the body must be a JSON object: {"subject": ..., "audience"?, "lifetimeSeconds"?}');
  for (const key of Object.keys(body)) {
    if (!['subject', 'audience', 'lifetimeSeconds'].includes(key)) throw bad(`'${key}' is not a field of the request`);
  }
  const { subject, audience, lifetimeSeconds } = body;
  if (typeof subject !== 'string' || !subject) throw bad("'subject' must be a non-empty string");
  if (audience !== undefined && (typeof audience !== 'string' || !audience)) {
    throw bad("'audience' must be a non-empty string");
  }
  if (lifetimeSeconds !== undefined && (typeof lifetimeSeconds !== 'number' || !Number.isInteger(lifetimeSeconds))) {
    throw bad("'lifetimeSeconds' must be a whole number");
  }
  return { subject, audience, lifetimeSeconds };
}
