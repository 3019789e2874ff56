// Bearer-token authentication and role checks. Tokens are verified with jose against the
// configured OpenID provider (Entra ID): its discovery document gives the tenant and the JWKS
// URL; the key set is cached and re-fetched when a token names an unknown `kid` (key rotation),
// with a cooldown so bad tokens cannot make us hammer the provider. Only RS256 is accepted, so an
// `alg: none` or HMAC-confusion token fails before any key is looked at. A token that passed is
// kept for a while, so a client that reuses its token (MSAL does until it nears expiry) is not
// checked again on every call.
//
// Entra issues an API's access tokens in one of two forms, chosen by the API's app registration
// (requestedAccessTokenVersion), and both are taken for the tenant of the metadata:
//   v1.0: issuer https://sts.windows.net/{tid}/, `aud` the App ID URI (`audience`);
//   v2.0: issuer <authority>/{tid}/v2.0, `aud` the API's client id (`clientId`; unset: refused).
// A token of one form with the other's audience, or of another tenant, is refused.
import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import type { FastifyRequest } from 'fastify';
import { HttpProblem } from './problem';

export const ROLE_READ = 'NonInteractiveUsers.Read';
export const ROLE_READ_WRITE = 'NonInteractiveUsers.ReadWrite';
export type Access = 'read' | 'write';

export interface Principal {
  /** The calling application (`azp`/`appid`) or, failing that, the subject. Used as rate-limit key. */
  clientId: string;
  roles: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyContextConfig {
    /** Which role a route needs; routes without it are public (health, docs). */
    access?: Access;
  }
}

export interface AuthOptions {
  /** Entra's OpenID metadata for the tenant: the v2.0 document (…/v2.0/.well-known/…) or the v1.0 one. */
  openIdConfigUrl: string;
  /** The `aud` of v1.0 tokens: the API's App ID URI. */
  audience: string;
  /** The `aud` of v2.0 tokens: the API's client id. Unset: v2.0 tokens are refused. */
  clientId?: string;
  /** Bound on each call to the OpenID provider. */
  timeoutMs?: number;
  clockToleranceSec?: number;
  /** Minimum time between two JWKS downloads (jose's cooldown; default 30 s). */
  jwksCooldownMs?: number;
  /** Verified tokens kept (default 1,000; 0: every call is checked). */
  verifiedTokens?: number;
}

interface Discovery {
  tenantId: string;
  /** https://sts.windows.net/{tid}/ (or the v1.0 metadata's issuer). */
  v1Issuer: string;
  /** <authority>/{tid}/v2.0. */
  v2Issuer: string;
  jwks: ReturnType<typeof createRemoteJWKSet>;
}

const ALGORITHMS = ['RS256'];
const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** A v2.0 issuer: <authority>/{tid}/v2.0. */
const V2_ISSUER = new RegExp(`^(https?://.+)/(${GUID})/v2\\.0$`, 'i');
/** A v1.0 issuer: https://sts.<cloud's domain>/{tid}/. */
const V1_ISSUER = new RegExp(`^https://sts\\.[^/]+/(${GUID})/$`, 'i');

/**
 * The tenant and both issuers from the metadata's issuer. From v2.0 metadata the v1.0 issuer is
 * the public cloud's (sts.windows.net, also GCC's); a national cloud's v1.0 issuer differs, so
 * there the v1.0 metadata is configured, and the v2.0 issuer is its authority's.
 */
export function entraIssuers(issuer: string, openIdConfigUrl: string): Omit<Discovery, 'jwks'> {
  const v2 = V2_ISSUER.exec(issuer);
  if (v2) {
    const tenantId = v2[2]!.toLowerCase();
    return { tenantId, v1Issuer: `https://sts.windows.net/${tenantId}/`, v2Issuer: issuer };
  }
  const v1 = V1_ISSUER.exec(issuer);
  if (v1) {
    const tenantId = v1[1]!.toLowerCase();
    return { tenantId, v1Issuer: issuer, v2Issuer: `${new URL(openIdConfigUrl).origin}/${tenantId}/v2.0` };
  }
  throw new Error(
    `the OpenID metadata's issuer "${issuer}" is not an Entra ID tenant's (…/{tenant id}/v2.0 or https://sts…/{tenant id}/)`,
  );
}
/** The key set is kept this long (jose's cacheMaxAge). */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/**
 * How long a verified token is kept at most (never past its expiry). A key that the provider
 * withdraws is trusted until the key set is fetched again (up to JWKS_MAX_AGE_MS anyway); a token
 * it signed, checked just before, at most this much longer.
 */
const VERIFIED_MAX_AGE_MS = 5 * 60_000;

export class TokenVerifier {
  private discovery: Promise<Discovery> | null = null;
  /**
   * Token -> who it is, the key that signed it, and until when it is taken without a check;
   * oldest first (Map order).
   */
  private readonly verified = new Map<string, { principal: Principal; kid: string | undefined; until: number }>();
  /** The key set of the last check, to see that a kept token's key is still published. */
  private keys: Discovery['jwks'] | null = null;
  /** Full checks made (signature, issuer, audience, expiry): calls the cache did not answer. */
  checks = 0;

  constructor(private readonly options: AuthOptions) {}

  /** Fetches the discovery document once; a failed fetch is retried by the next request. */
  private discover(): Promise<Discovery> {
    if (!this.discovery) {
      const timeoutMs = this.options.timeoutMs ?? 5000;
      this.discovery = (async () => {
        const res = await fetch(this.options.openIdConfigUrl, { signal: AbortSignal.timeout(timeoutMs) });
        if (!res.ok) throw new Error(`OpenID discovery answered ${res.status}`);
        const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
        if (typeof doc.issuer !== 'string' || typeof doc.jwks_uri !== 'string') {
          throw new Error('OpenID discovery document lacks issuer or jwks_uri');
        }
        return {
          ...entraIssuers(doc.issuer, this.options.openIdConfigUrl),
          jwks: createRemoteJWKSet(new URL(doc.jwks_uri), {
            timeoutDuration: timeoutMs,
            cooldownDuration: this.options.jwksCooldownMs ?? 30_000,
            cacheMaxAge: JWKS_MAX_AGE_MS,
          }),
        };
      })();
      this.discovery.catch(() => {
        this.discovery = null;
      });
    }
    return this.discovery;
  }

  /**
   * Fetches the discovery document and the key set ahead of the first call (the API does it when
   * it starts), so that call does not wait for both. A failure is left to the first call's retry.
   */
  async warmUp(): Promise<void> {
    const discovery = await this.discover();
    await discovery.jwks.reload();
    this.keys = discovery.jwks;
  }

  /** Verifies a compact JWT; throws HttpProblem 401 (bad token) or 503 (provider unreachable). */
  async verify(token: string): Promise<Principal> {
    const kept = this.verified.get(token);
    if (kept && Date.now() < kept.until && this.published(kept.kid)) return kept.principal;
    if (kept) this.verified.delete(token);
    const { principal, kid, expiresMs } = await this.check(token);
    const room = this.options.verifiedTokens ?? 1_000;
    if (room > 0) {
      if (this.verified.size >= room) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { principal, kid, until: Math.min(expiresMs, Date.now() + VERIFIED_MAX_AGE_MS) });
    }
    return principal;
  }

  /**
   * Whether the key set as last fetched still has this key: once a refresh drops a key (the
   * provider withdrew it), the tokens it signed get the full check again, and fail as they would
   * without the cache.
   */
  private published(kid: string | undefined): boolean {
    return this.keys?.jwks()?.keys.some((k) => k.kid === kid) ?? false;
  }

  /** The full check, and when the token stops being accepted (its exp plus the clock tolerance). */
  private async check(token: string): Promise<{ principal: Principal; kid: string | undefined; expiresMs: number }> {
    this.checks += 1;
    const clockToleranceSec = this.options.clockToleranceSec ?? 30;
    let discovery: Discovery;
    try {
      discovery = await this.discover();
    } catch {
      throw new HttpProblem(503, 'identity-provider-unavailable', 'The identity provider cannot be reached.', {
        headers: { 'retry-after': '5' },
      });
    }
    this.keys = discovery.jwks;
    let payload: JWTPayload;
    let kid: string | undefined;
    try {
      ({
        payload,
        protectedHeader: { kid },
      } = await jwtVerify(token, discovery.jwks, {
        issuer: [discovery.v1Issuer, discovery.v2Issuer],
        algorithms: ALGORITHMS,
        clockTolerance: clockToleranceSec,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      if (keysUnavailable(err)) {
        throw new HttpProblem(503, 'identity-provider-unavailable', 'The identity provider cannot be reached.', {
          headers: { 'retry-after': '5' },
        });
      }
      throw unauthorized('invalid_token', describeJoseError(err));
    }
    this.checkForm(payload, discovery);
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
    const clientId =
      [payload.azp, payload.appid, payload.sub].find((v): v is string => typeof v === 'string') ?? 'unknown';
    // requiredClaims makes jose refuse a token without a numeric exp.
    return { principal: { clientId, roles }, kid, expiresMs: ((payload.exp ?? 0) + clockToleranceSec) * 1000 };
  }

  /** The audience (and version, tenant) a token of its issuer's form must carry; jose checked the issuer. */
  private checkForm(payload: JWTPayload, discovery: Discovery): void {
    const v1 = payload.iss === discovery.v1Issuer;
    const { audience, clientId } = this.options;
    if (!v1 && !clientId) {
      throw unauthorized('invalid_token', 'This API does not accept v2.0 tokens (it has no client id configured).');
    }
    const expected = v1 ? audience : clientId;
    if (payload.aud !== expected || (v1 && payload.aud === clientId)) {
      throw unauthorized(
        'invalid_token',
        v1
          ? 'The token was not issued for this API (audience): a v1.0 token must name its App ID URI.'
          : 'The token was not issued for this API (audience): a v2.0 token must name its client id.',
      );
    }
    const version = v1 ? '1.0' : '2.0';
    if (
      (payload.ver !== undefined && payload.ver !== version) ||
      (payload.tid !== undefined && payload.tid !== discovery.tenantId)
    ) {
      throw unauthorized(
        'invalid_token',
        `The token's claims do not match its issuer (a v${version} token of tenant ${discovery.tenantId}).`,
      );
    }
  }
}

/**
 * The signing keys could not be had: the JWKS request failed, timed out, or answered with
 * something other than a key set (jose reports an error status or a body that is not JSON as a
 * generic JOSEError naming the "JSON Web Key Set"). The caller's token may be fine: 503, not 401.
 */
function keysUnavailable(err: unknown): boolean {
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return true;
  if (err instanceof TypeError && /fetch/i.test(err.message)) return true;
  return err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(err.message);
}

function describeJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'The token has expired.';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'The token was not issued for this API (audience).';
    if (err.claim === 'iss') return 'The token was not issued by the trusted identity provider (issuer).';
    return `The token's "${err.claim}" claim is not valid.`;
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature is not valid.';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'The token is signed with an algorithm that is not accepted.';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'The token is signed with an unknown key.';
  return 'The token is not a valid JWT.';
}

function unauthorized(code: 'invalid_request' | 'invalid_token', detail: string): HttpProblem {
  // RFC 6750 section 3: a 401 carries the challenge.
  const challenge =
    code === 'invalid_request' ? 'Bearer' : `Bearer error="${code}", error_description="${detail.replace(/"/g, "'")}"`;
  return new HttpProblem(401, 'unauthorized', detail, { headers: { 'www-authenticate': challenge } });
}

export function allows(principal: Principal, access: Access): boolean {
  if (principal.roles.includes(ROLE_READ_WRITE)) return true;
  return access === 'read' && principal.roles.includes(ROLE_READ);
}

/** onRequest hook body: authenticates the bearer token and checks the route's role. */
export async function authenticate(verifier: TokenVerifier, request: FastifyRequest, access: Access): Promise<void> {
  const header = request.headers.authorization;
  if (!header) throw unauthorized('invalid_request', 'A bearer token is required (Authorization: Bearer <JWT>).');
  const match = /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthorized('invalid_token', 'The Authorization header must be "Bearer <JWT>".');
  const principal = await verifier.verify(match[1]);
  request.principal = principal;
  if (!allows(principal, access)) {
    const needed = access === 'write' ? ROLE_READ_WRITE : `${ROLE_READ} or ${ROLE_READ_WRITE}`;
    throw new HttpProblem(403, 'forbidden', `This operation needs the application role ${needed}.`);
  }
}
