import { ApplicationFailure } from '@temporalio/common';
import {
  classify,
  errorOfBody,
  fromGraphError,
  hasErrorCode,
  httpFailure,
  retryAfterMs,
  valuesOrLongestWait,
} from '../../activities/errors';

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

describe("the admin API's error bodies", () => {
  const user = '8f0c2a4e-1b2c-4d5e-9f00-112233445566';
  const group = '0d4c5b6a-7e8f-4a1b-9c2d-3e4f5a6b7c8d';
  /** addUser's answer for a user outside the environment's security group (sandbox/powerplatform.ts). */
  const notInGroup = {
    errors: [
      {
        Subject: 'Result',
        Description: `User ${user} is not part of security group ${group}`,
        Code: 'userNotPartOfSecurityGroup',
      },
      { Subject: 'InnerException', Description: null, Code: null },
      { Subject: 'AdditionalData', Description: null, Code: null },
    ],
    information: [{ Subject: 'Result', Description: '["SyncMode: Default"]', Code: null }],
  };

  test('both shapes give their code and message: `error` and the `errors` list', () => {
    expect(errorOfBody({ error: { code: 'userNotLicensed', message: 'no license yet' } })).toEqual({
      code: 'userNotLicensed',
      message: 'no license yet',
      codes: ['userNotLicensed'],
    });
    expect(errorOfBody(notInGroup)).toEqual({
      code: 'userNotPartOfSecurityGroup',
      message: `User ${user} is not part of security group ${group}`,
      codes: ['userNotPartOfSecurityGroup'],
    });
    expect(errorOfBody('<html>gateway</html>')).toEqual({ code: null, message: null, codes: [] });
  });

  test("the `errors` list's code and description reach the failure (it was a codeless invalid-request)", () => {
    const { code, message, codes } = errorOfBody(notInGroup);
    const f = httpFailure({ service: 'powerplatform', status: 400, code, message: message!, detailCodes: codes });
    expect(f.type).toBe('invalid-request');
    expect(f.message).toBe(
      `powerplatform 400 userNotPartOfSecurityGroup: User ${user} is not part of security group ${group}`,
    );
    expect(hasErrorCode(f, 'userNotPartOfSecurityGroup')).toBe(true);
  });

  test('userNotLicensed is recognised in either shape, also behind another entry', () => {
    const shapes = [
      { error: { code: 'userNotLicensed', message: 'The user does not have a valid license.' } },
      {
        errors: [
          { Subject: 'Result', Description: 'The user does not have a valid license.', Code: 'userNotLicensed' },
        ],
      },
      {
        errors: [
          { Subject: 'Result', Description: 'x', Code: 'SomethingFirst' },
          { Subject: 'r', Code: 'userNotLicensed' },
        ],
      },
    ];
    for (const body of shapes) {
      const { code, message, codes } = errorOfBody(body);
      const f = httpFailure({
        service: 'powerplatform',
        status: 400,
        code,
        message: message ?? '',
        detailCodes: codes,
      });
      expect(hasErrorCode(f, 'userNotLicensed')).toBe(true);
    }
    expect(hasErrorCode(httpFailure({ service: 'powerplatform', status: 400, message: 'x' }), 'userNotLicensed')).toBe(
      false,
    );
  });

  test('not a registered management application: its own non-retryable type, and a message naming the fix', () => {
    const message =
      "The service principal with id 'c0ffee00-0000-4000-8000-000000000001' for application 3f2a8c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b " +
      "does not have permission to access the path 'https://api.bap.microsoft.com/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments' in tenant t.";
    const f = httpFailure({ service: 'powerplatform', status: 403, code: 'Forbidden', message });
    expect(f.type).toBe('management-app-not-registered');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('pac admin application register --application-id 3f2a8c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b');
    expect(f.message).toContain(
      '/providers/Microsoft.BusinessAppPlatform/adminApplications/3f2a8c1e-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
    );
    expect(f.message).toContain(message);
    // Any other 403 stays permission-denied.
    expect(classify({ service: 'graph', status: 403, message })).toEqual({
      type: 'permission-denied',
      retryable: false,
    });
    expect(classify({ service: 'powerplatform', status: 403, message: 'Forbidden' }).type).toBe('permission-denied');
  });

  test("a Graph client error's body is the `error` member alone: its details codes are read", () => {
    const err = Object.assign(new Error('Conflict.'), {
      statusCode: 400,
      code: 'Request_BadRequest',
      body: JSON.stringify({ code: 'Request_BadRequest', message: 'Conflict.', details: [{ code: 'ObjectConflict' }] }),
    });
    expect(fromGraphError(err)?.type).toBe('upn-conflict');
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
