// Access tokens as Entra ID issues them for the client-credentials grant: RS256 JWTs (v2.0
// issuer) with `aud` = the resource, `tid`, `appid`/`azp`, `oid`, `roles`, `exp`. The signing
// key is published at /{tenant}/discovery/v2.0/keys; it survives `reset` (so tokens already
// issued stay valid) and, when a key file is given, restarts.
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
    const issuer = `${baseUrl}/${TENANT_ID}/v2.0`;
    if (keyFile) {
      try {
        const jwk = JSON.parse(await readFile(keyFile, 'utf8')) as JWK;
        const privateKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
        const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
        return new TokenService(privateKey, pub, jwk.kid ?? (await calculateJwkThumbprint(pub)), issuer);
      } catch {
        // Missing or unreadable: generate below.
      }
    }
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    if (keyFile) {
      const full = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
      const tmp = `${keyFile}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(full), { mode: 0o600 });
      await rename(tmp, keyFile);
    }
    return new TokenService(privateKey, pub, kid, issuer);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.publicJwk, kid: this.kid, use: 'sig', alg: 'RS256', issuer: this.issuer } as JWK] };
  }

  async issue(
    client: Client,
    audience: string,
    lifetimeSeconds: number,
    extraClaims: Record<string, unknown> = {},
  ): Promise<{ token: string; expiresIn: number }> {
    const now = Math.floor(Date.now() / 1000);
    const roles = client.roles[audience];
    const payload: Record<string, unknown> = {
      tid: TENANT_ID,
      appid: client.clientId,
      azp: client.clientId,
      azpacr: '1',
      oid: client.servicePrincipalId,
      idtyp: 'app',
      ver: '2.0',
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
    };
    if (roles && roles.length) payload.roles = roles;
    Object.assign(payload, extraClaims);
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.kid })
      .setIssuer(this.issuer)
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
