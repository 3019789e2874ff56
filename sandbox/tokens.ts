// Access tokens as Entra ID issues them for the client-credentials grant: RS256 JWTs with
// `aud` = the resource, `tid`, `appid`, `oid`, `roles`, `exp`; in the v2.0 form (issuer
// <authority>/{tid}/v2.0, `azp`) for the Microsoft services, and for the API's own audience in the
// form its app registration asks for (v1.0 by default: issuer https://sts.windows.net/{tid}/,
// `appidacr`, no `azp`). Both are signed by the key published at /{tenant}/discovery/v2.0/keys; it
// survives `reset` (so tokens already issued stay valid) and, when a key file is given, restarts.
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import {
  type CryptoKey,
  type JWK,
  SignJWT,
  calculateJwkThumbprint,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
} from 'jose';
import { TENANT_ID } from './seed';
import type { Client } from './types';

export interface TokenClaims {
  aud: string;
  iss: string;
  tid: string;
  appid: string;
  azp: string;
  oid: string;
  sub: string;
  roles?: string[];
  /** Directory role template ids of the service principal. */
  wids?: string[];
  iat: number;
  nbf: number;
  exp: number;
  ver: string;
  idtyp: string;
  uti: string;
}

export type TokenCheck =
  | { ok: true; claims: TokenClaims }
  | { ok: false; reason: 'missing' | 'malformed' | 'signature' | 'expired' | 'audience' | 'issuer'; message: string };

/** An RS256 key pair: the private key for signing, the public JWK (with its kid) for publishing. */
export interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
  kid: string;
}

/** Loads an RS256 key pair from `keyFile` if given and readable, else generates one (and saves it there). */
export async function signingKey(keyFile?: string): Promise<SigningKey> {
  if (keyFile) {
    try {
      const jwk = JSON.parse(await readFile(keyFile, 'utf8')) as JWK;
      const privateKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      return { privateKey, publicJwk: pub, kid: jwk.kid ?? (await calculateJwkThumbprint(pub)) };
    } catch {
      // Missing or unreadable: generate below.
    }
  }
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  if (keyFile) {
    const full = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
    const tmp = `${keyFile}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(full), { mode: 0o600 });
    await rename(tmp, keyFile);
  }
  return { privateKey, publicJwk, kid };
}

/** The v1.0 issuer of a tenant's tokens (Entra's, whatever the authority host). */
export function v1Issuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

export interface IssueOptions {
  /**
   * For the API's own audience: 1, the v1.0 form Entra issues for an API that does not ask for v2
   * (issuer https://sts.windows.net/{tid}/, `appid`/`appidacr`, ver 1.0, no `azp`); 2, the v2.0
   * form (issuer <authority>/{tid}/v2.0, `azp`/`azpacr`, ver 2.0, no `appid`). Unset: the form of
   * the Microsoft services' tokens, v2.0 also carrying `appid` (which the sandbox's services read).
   */
  version?: 1 | 2;
  /** How the client authenticated: '1' a secret, '2' a certificate or another assertion. */
  acr?: '1' | '2';
  /** The resource whose app roles the token carries, when `aud` names it otherwise (a client id). */
  rolesOf?: string;
  /** Claims the tenant adds for this registration (its directory roles as `wids`: directory.ts). */
  extraClaims?: Record<string, unknown>;
}

export class TokenService {
  private verifyKey: ReturnType<typeof importJWK> | null = null;

  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicJwk: JWK,
    readonly kid: string,
    readonly issuer: string,
  ) {}

  /** Loads the key pair from `keyFile` if given and present, else generates one (and saves it). */
  static async create(baseUrl: string, keyFile?: string): Promise<TokenService> {
    const key = await signingKey(keyFile);
    return new TokenService(key.privateKey, key.publicJwk, key.kid, `${baseUrl}/${TENANT_ID}/v2.0`);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.publicJwk, kid: this.kid, use: 'sig', alg: 'RS256', issuer: this.issuer } as JWK] };
  }

  async issue(
    client: Client,
    audience: string,
    lifetimeSeconds: number,
    options: IssueOptions = {},
  ): Promise<{ token: string; expiresIn: number }> {
    const now = Math.floor(Date.now() / 1000);
    const roles = client.roles[options.rolesOf ?? audience];
    const acr = options.acr ?? '1';
    const v1 = options.version === 1;
    const common = { tid: TENANT_ID, oid: client.servicePrincipalId };
    const payload: Record<string, unknown> = v1
      ? { ...common, appid: client.clientId, appidacr: acr, idp: v1Issuer(TENANT_ID), ver: '1.0' }
      : { ...common, azp: client.clientId, azpacr: acr, idtyp: 'app', ver: '2.0' };
    if (options.version === undefined) payload.appid = client.clientId;
    payload.uti = randomUUID().replace(/-/g, '').slice(0, 22);
    if (roles && roles.length) payload.roles = roles;
    Object.assign(payload, options.extraClaims);
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuer(v1 ? v1Issuer(TENANT_ID) : this.issuer)
      .setAudience(audience)
      .setSubject(client.servicePrincipalId)
      .setIssuedAt(now)
      .setNotBefore(now - 300)
      .setExpirationTime(now + lifetimeSeconds)
      .sign(this.privateKey);
    return { token, expiresIn: lifetimeSeconds };
  }

  /** Verifies signature, issuer and lifetime, then that `aud` is one of `audiences`. */
  async verify(token: string | null, audiences: (aud: string) => boolean): Promise<TokenCheck> {
    if (!token) return { ok: false, reason: 'missing', message: 'Access token is empty.' };
    let claims: TokenClaims;
    try {
      this.verifyKey ??= importJWK({ ...this.publicJwk, alg: 'RS256' }, 'RS256');
      const result = await jwtVerify(token, await this.verifyKey, { algorithms: ['RS256'], clockTolerance: 0 });
      claims = result.payload as unknown as TokenClaims;
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        return { ok: false, reason: 'expired', message: 'Lifetime validation failed, the token is expired.' };
      }
      if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
        return { ok: false, reason: 'signature', message: 'Invalid signature.' };
      }
      return { ok: false, reason: 'malformed', message: 'Invalid JWT token. The token is malformed.' };
    }
    if (claims.iss !== this.issuer) {
      return { ok: false, reason: 'issuer', message: 'Invalid issuer.' };
    }
    if (typeof claims.aud !== 'string' || !audiences(claims.aud)) {
      return { ok: false, reason: 'audience', message: 'Invalid audience.' };
    }
    return { ok: true, claims };
  }
}
