// A TokenCredential that keeps each access token until it is due for refresh, in front of the
// worker's credential (credential.ts). MSAL (under @azure/identity) caches tokens too, but its cache lookup
// is the costly part of a call: it parses the authority URL, builds cache keys, filters the
// cache and logs, on every request. The Graph client and the Dataverse and Power Platform calls
// ask for a token per HTTP request, so with 20 requests waiting for their sync (two calls per
// look, a look a second) MSAL was 7 % of the worker's main-thread CPU (`--cpu-prof` of
// `npm run bench:profile`); a map lookup costs nothing.
//
// A token is used until its refreshAfterTimestamp (MSAL's refresh_in) or, without one, until
// 5 minutes before it expires (half its lifetime for short-lived tokens). Concurrent misses
// share one request. Calls that ask for something particular (claims from a CAE challenge,
// another tenant, proof of possession) go straight through, uncached.
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

const REFRESH_MARGIN_MS = 5 * 60_000;

interface Cached {
  token: AccessToken;
  refreshAt: number;
}

export class CachingTokenCredential implements TokenCredential {
  private readonly tokens = new Map<string, Cached>();
  private readonly pending = new Map<string, Promise<AccessToken | null>>();

  constructor(
    private readonly inner: TokenCredential,
    private readonly now: () => number = Date.now,
  ) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    if (options?.claims || options?.tenantId || options?.enableCae || options?.proofOfPossessionOptions) {
      return this.inner.getToken(scopes, options);
    }
    const key = [scopes].flat().join(' ');
    const cached = this.tokens.get(key);
    if (cached && this.now() < cached.refreshAt) return cached.token;
    let request = this.pending.get(key);
    if (!request) {
      const asked = this.now();
      request = this.inner
        .getToken(scopes, options)
        .then((token) => {
          if (token) this.tokens.set(key, { token, refreshAt: refreshAt(token, asked) });
          return token;
        })
        .finally(() => this.pending.delete(key));
      this.pending.set(key, request);
    }
    return request;
  }
}

function refreshAt(token: AccessToken, asked: number): number {
  if (token.refreshAfterTimestamp) return Math.min(token.refreshAfterTimestamp, token.expiresOnTimestamp);
  const lifetime = token.expiresOnTimestamp - asked;
  return token.expiresOnTimestamp - Math.min(REFRESH_MARGIN_MS, lifetime / 2);
}
