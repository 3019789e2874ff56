import { ApplicationFailure } from '@temporalio/common';
import { classify, fromGraphError, httpFailure, retryAfterMs, valuesOrLongestWait } from '../../activities/errors';

describe('retryAfterMs', () => {
  test('reads delta seconds and HTTP dates, caps at ten minutes', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs('0.5')).toBe(500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
    expect(retryAfterMs('86400')).toBe(600_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('classify', () => {
  const c = (status: number, message: string, code?: string, detailCodes?: string[]) =>
    classify({ service: 'graph', status, message, code, detailCodes });
  test('throttling and server errors are retried', () => {
    expect(c(429, 'Too many requests')).toEqual({ type: 'throttled', retryable: true });
    expect(c(503, 'Service unavailable')).toEqual({ type: 'service-unavailable', retryable: true });
    expect(c(504, 'Gateway timeout').retryable).toBe(true);
  });
  test("Microsoft's documented 400s get stable, non-retryable types", () => {
    expect(
      c(
        400,
        'Another object with the same value for property userPrincipalName already exists.',
        'Request_BadRequest',
        ['ObjectConflict'],
      ),
    ).toEqual({ type: 'upn-conflict', retryable: false });
    expect(c(400, 'License assignment cannot be done for user with invalid usage location.').type).toBe(
      'invalid-usage-location',
    );
    expect(c(400, 'Subscription with SKU x does not have any available licenses.').type).toBe('license-unavailable');
    expect(
      classify({
        service: 'dataverse',
        status: 400,
        message: 'Your organization has reached its maximum number of non-interactive users.',
      }),
    ).toEqual({ type: 'capacity-exhausted', retryable: false });
    expect(c(403, 'Insufficient privileges')).toEqual({ type: 'permission-denied', retryable: false });
    expect(c(400, 'Invalid property')).toEqual({ type: 'invalid-request', retryable: false });
  });
  test('404 is retried: a new object can be briefly invisible', () => {
    expect(c(404, 'Request_ResourceNotFound')).toEqual({ type: 'not-found', retryable: true });
  });
});

describe('httpFailure', () => {
  test('turns Retry-After into nextRetryDelay on retryable failures only', () => {
    const f = httpFailure({ service: 'dataverse', status: 429, message: 'slow down', retryAfter: '2' });
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.nonRetryable).toBe(false);
    expect(f.nextRetryDelay).toBe(2000);
    const g = httpFailure({ service: 'graph', status: 403, message: 'no', retryAfter: '2' });
    expect(g.nonRetryable).toBe(true);
    expect(g.nextRetryDelay).toBeUndefined();
  });
  test('reads status, details code and Retry-After from a Graph client error', () => {
    const err = Object.assign(new Error('Another object with the same value already exists.'), {
      statusCode: 400,
      code: 'Request_BadRequest',
      headers: new Headers({ 'retry-after': '1' }),
      body: JSON.stringify({ error: { code: 'Request_BadRequest', details: [{ code: 'ObjectConflict' }] } }),
    });
    expect(fromGraphError(err)?.type).toBe('upn-conflict');
    const throttled = Object.assign(new Error('Too many'), {
      statusCode: 429,
      code: 'TooManyRequests',
      headers: new Headers({ 'retry-after': '4' }),
    });
    expect(fromGraphError(throttled)?.nextRetryDelay).toBe(4000);
    expect(fromGraphError(new Error('socket hang up'))).toBeUndefined();
  });
});

describe('calls side by side (valuesOrLongestWait)', () => {
  const throttled = httpFailure({ service: 'graph', status: 429, message: 'slow down', retryAfter: '2' });
  const unavailable = httpFailure({ service: 'graph', status: 503, message: 'try again' });
  const refused = httpFailure({ service: 'graph', status: 403, message: 'no' });
  const settle = (...calls: Promise<unknown>[]) => Promise.allSettled(calls);

  test('all answered: their values, in order', async () => {
    expect(valuesOrLongestWait(await settle(Promise.resolve(1), Promise.resolve('two')))).toEqual([1, 'two']);
  });

  test('a 503 that failed first does not hide a 429 told to wait longer', async () => {
    const settled = await settle(Promise.reject(unavailable), Promise.reject(throttled));
    expect(() => valuesOrLongestWait(settled)).toThrow(throttled);
  });

  test('a failure no retry can fix wins over any wait', async () => {
    const settled = await settle(Promise.reject(throttled), Promise.reject(refused), Promise.resolve(3));
    expect(() => valuesOrLongestWait(settled)).toThrow(refused);
  });
});
