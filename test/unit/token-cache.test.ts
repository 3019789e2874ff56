// CachingTokenCredential against a stand-in credential that counts its calls (the real one,
// ClientSecretCredential against the sandbox, is what the integration and e2e tests use).
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { CachingTokenCredential } from '../../activities/token-cache';

const MIN = 60_000;

function fakeCredential(now: () => number, lifetimeMs: number, refreshAfterMs?: number) {
  const calls: { scopes: string | string[]; options?: GetTokenOptions }[] = [];
  let fail: Error | null = null;
  const credential: TokenCredential = {
    async getToken(scopes, options) {
      calls.push({ scopes, options });
      await new Promise((r) => setImmediate(r));
      if (fail) throw fail;
      const token: AccessToken = {
        token: `token-${calls.length}`,
        expiresOnTimestamp: now() + lifetimeMs,
        ...(refreshAfterMs ? { refreshAfterTimestamp: now() + refreshAfterMs } : {}),
      };
      return token;
    },
  };
  return { credential, calls, failWith: (e: Error | null) => (fail = e) };
}

test('a token is reused per scope until 5 minutes before it expires', async () => {
  let t = 1_000_000;
  const inner = fakeCredential(() => t, 60 * MIN);
  const cache = new CachingTokenCredential(inner.credential, () => t);
  expect((await cache.getToken('https://graph/.default'))?.token).toBe('token-1');
  t += 30 * MIN;
  expect((await cache.getToken(['https://graph/.default']))?.token).toBe('token-1');
  expect((await cache.getToken('https://dataverse/.default'))?.token).toBe('token-2');
  t += 25 * MIN - 1; // 55 min after the first: still 5 min and a little left
  expect((await cache.getToken('https://graph/.default'))?.token).toBe('token-1');
  t += 1;
  expect((await cache.getToken('https://graph/.default'))?.token).toBe('token-3');
  expect(inner.calls).toHaveLength(3);
});

test('the refresh time the credential gives wins; a short-lived token is renewed at half its life', async () => {
  let t = 0;
  const withHint = fakeCredential(() => t, 60 * MIN, 10 * MIN);
  const hinted = new CachingTokenCredential(withHint.credential, () => t);
  await hinted.getToken('s');
  t = 10 * MIN - 1;
  await hinted.getToken('s');
  expect(withHint.calls).toHaveLength(1);
  t = 10 * MIN;
  await hinted.getToken('s');
  expect(withHint.calls).toHaveLength(2);

  t = 0;
  const short = fakeCredential(() => t, 4 * MIN);
  const cache = new CachingTokenCredential(short.credential, () => t);
  await cache.getToken('s');
  t = 2 * MIN - 1;
  await cache.getToken('s');
  expect(short.calls).toHaveLength(1);
  t = 2 * MIN;
  await cache.getToken('s');
  expect(short.calls).toHaveLength(2);
});

test('concurrent misses share one request; a failure reaches every caller and is not cached', async () => {
  const t = 0;
  const inner = fakeCredential(() => t, 60 * MIN);
  const cache = new CachingTokenCredential(inner.credential, () => t);
  inner.failWith(new Error('AADSTS throttled'));
  const failed = await Promise.allSettled([cache.getToken('s'), cache.getToken('s')]);
  expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  expect(inner.calls).toHaveLength(1);
  inner.failWith(null);
  const tokens = await Promise.all([cache.getToken('s'), cache.getToken('s'), cache.getToken('s')]);
  expect(tokens.map((x) => x?.token)).toEqual(['token-2', 'token-2', 'token-2']);
  expect(inner.calls).toHaveLength(2);
});

test('claims, another tenant and CAE go straight through to the credential', async () => {
  const t = 0;
  const inner = fakeCredential(() => t, 60 * MIN);
  const cache = new CachingTokenCredential(inner.credential, () => t);
  await cache.getToken('s');
  await cache.getToken('s', { claims: 'eyJ' });
  await cache.getToken('s', { tenantId: 'other' });
  await cache.getToken('s', { enableCae: true });
  expect(inner.calls.map((c) => c.options ?? {})).toEqual([
    {},
    { claims: 'eyJ' },
    { tenantId: 'other' },
    { enableCae: true },
  ]);
  expect((await cache.getToken('s'))?.token).toBe('token-1');
});
