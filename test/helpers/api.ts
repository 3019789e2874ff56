// Helpers for API tests: a local OpenID provider shaped like an Entra ID tenant (v2.0 and v1.0
// discovery + JWKS over real HTTP, keys that can rotate, tokens of either form signed with jose)
// for unit tests, and token/HTTP helpers for e2e tests against the sandbox's real token endpoint.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { API_CLIENT_ID } from '../../sandbox/seed';

export const API_AUDIENCE = 'api://noninteractive-users';
/** The API's client id, the `aud` of v2.0 tokens (AUTH_CLIENT_ID's default, the sandbox's app registration). */
export { API_CLIENT_ID };
/** The local provider's tenant. */
export const LOCAL_TENANT_ID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
export const ROLE_RW = 'NonInteractiveUsers.ReadWrite';
export const ROLE_READ = 'NonInteractiveUsers.Read';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

export interface LocalIdentityProvider {
  /** The v2.0 issuer, <base>/{tenant}/v2.0 (its metadata: openIdConfigUrl). */
  issuer: string;
  /** The v1.0 issuer, https://sts.windows.net/{tenant}/ (its metadata: v1OpenIdConfigUrl). */
  v1Issuer: string;
  tenantId: string;
  /** The v2.0 metadata. */
  openIdConfigUrl: string;
  /** The v1.0 metadata (same keys). */
  v1OpenIdConfigUrl: string;
  /** Number of JWKS downloads so far (to observe caching and rotation). */
  jwksFetches(): number;
  /**
   * Signs a token; claims override the defaults of its form (`form`: 'v1', the default, with the
   * v1.0 issuer and the App ID URI; 'v2' with the v2.0 issuer and the API's client id), 1 h
   * expiry, ReadWrite.
   */
  sign(
    claims?: JWTPayload,
    options?: { expiresIn?: string | number; kid?: string; key?: KeyPair; form?: 'v1' | 'v2' },
  ): Promise<string>;
  /** Adds a new current key (old ones stay published unless `dropOld`). */
  rotate(dropOld?: boolean): Promise<void>;
  /** How the keys endpoint answers from now on: an HTTP status, a body that is not JSON, or normally (null). */
  breakKeys(how: number | 'not-json' | null): void;
  close(): Promise<void>;
}

export async function startLocalIdentityProvider(): Promise<LocalIdentityProvider> {
  const keys: { kid: string; pair: KeyPair; jwk: JWK }[] = [];
  let fetches = 0;
  let broken: number | 'not-json' | null = null;
  const addKey = async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    const kid = `key-${keys.length + 1}`;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
    keys.push({ kid, pair, jwk });
  };
  await addKey();
  let base = '';
  const tenant = `/${LOCAL_TENANT_ID}`;
  const v1Issuer = `https://sts.windows.net/${LOCAL_TENANT_ID}/`;
  const metadata = (issuer: string) => JSON.stringify({ issuer, jwks_uri: `${base}${tenant}/discovery/v2.0/keys` });
  const server = http.createServer((req, res) => {
    if (req.url === `${tenant}/v2.0/.well-known/openid-configuration`) {
      res.setHeader('content-type', 'application/json');
      res.end(metadata(`${base}${tenant}/v2.0`));
    } else if (req.url === `${tenant}/.well-known/openid-configuration`) {
      res.setHeader('content-type', 'application/json');
      res.end(metadata(v1Issuer));
    } else if (req.url === `${tenant}/discovery/v2.0/keys`) {
      fetches++;
      res.setHeader('content-type', 'application/json');
      if (typeof broken === 'number') res.statusCode = broken;
      res.end(broken === null ? JSON.stringify({ keys: keys.map((k) => k.jwk) }) : '<html>unavailable</html>');
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}${tenant}/v2.0`;
  return {
    issuer,
    v1Issuer,
    tenantId: LOCAL_TENANT_ID,
    openIdConfigUrl: `${base}${tenant}/v2.0/.well-known/openid-configuration`,
    v1OpenIdConfigUrl: `${base}${tenant}/.well-known/openid-configuration`,
    jwksFetches: () => fetches,
    async sign(claims = {}, options = {}) {
      const current = keys[keys.length - 1]!;
      const key = options.key ?? current.pair;
      const v2 = options.form === 'v2';
      const form = v2
        ? { iss: issuer, aud: API_CLIENT_ID, azp: 'operator-client', ver: '2.0' }
        : { iss: v1Issuer, aud: API_AUDIENCE, appid: 'operator-client', ver: '1.0' };
      return new SignJWT({ roles: [ROLE_RW], tid: LOCAL_TENANT_ID, ...form, ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? current.kid, typ: 'JWT' })
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '1h')
        .sign(key.privateKey);
    },
    async rotate(dropOld = false) {
      await addKey();
      if (dropOld) keys.splice(0, keys.length - 1);
    },
    breakKeys(how) {
      broken = how;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Client-credentials token from the sandbox (or any Entra-compatible token endpoint). */
export async function clientCredentialsToken(
  sandboxUrl: string,
  clientId: string,
  clientSecret: string,
  scope = `${API_AUDIENCE}/.default`,
  tenant = 'contoso.onmicrosoft.com',
): Promise<string> {
  const res = await fetch(`${sandboxUrl}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
      scope,
    }),
  });
  const body = (await res.json()) as { access_token?: string; error?: string };
  if (!res.ok || !body.access_token) throw new Error(`token request failed: ${res.status} ${body.error ?? ''}`);
  return body.access_token;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  ms: number;
}

/** One HTTP call to the API; parses JSON and problem+json bodies. */
export async function call<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const started = Date.now();
  const res = await fetch(baseUrl + path, { method, headers, body, signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  let parsed: unknown = text;
  if (/json/.test(res.headers.get('content-type') ?? '') && text) parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, ms: Date.now() - started };
}

export const idPath = (id: string): string => `/v1/non-interactive-users/${encodeURIComponent(id)}`;

/** Polls until `check` returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
