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

test.each([
  ['the refresh time the credential gives wins', 60 * MIN, 10 * MIN, 10 * MIN],
  ['a short-lived token is renewed at half its life', 4 * MIN, undefined, 2 * MIN],
])('%s', async (_what, lifetimeMs, refreshAfterMs, renewedAtMs) => {
  let t = 0;
  const inner = fakeCredential(() => t, lifetimeMs, refreshAfterMs);
  const cache = new CachingTokenCredential(inner.credential, () => t);
  await cache.getToken('s');
  t = renewedAtMs - 1;
  await cache.getToken('s');
  expect(inner.calls).toHaveLength(1);
  t = renewedAtMs;
  await cache.getToken('s');
  expect(inner.calls).toHaveLength(2);
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
