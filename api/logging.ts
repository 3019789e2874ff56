// Logger options: request ids in every line (Fastify's child logger per request), no tokens
// and no PII. Requests are logged by route pattern, not raw URL, because ids carry the user
// principal name (`niu:env:upn`); free text is scrubbed of anything that looks like an address.
import { randomUUID } from 'node:crypto';
import type { FastifyRequest, RawRequestDefaultExpression } from 'fastify';
import type { LoggerOptions } from 'pino';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's `genReqId`: a caller's x-request-id is kept when it is a sane token, so ids can be
 * followed across services; otherwise a fresh UUID. Either way it is in every log line and
 * problem body.
 */
export function requestId(req: RawRequestDefaultExpression): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

const EMAIL = /[A-Za-z0-9._%+-]+(?:@|%40)[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/** Replaces user principal names (plain or percent-encoded) with a placeholder. */
export function scrub(text: string): string {
  return text.replace(EMAIL, '<upn>');
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    // Belt and braces: the serializers below never include headers, but a careless log call
    // with a request or headers object must not leak credentials either.
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'authorization',
        'token',
        'accessToken',
        'access_token',
        'clientSecret',
        'client_secret',
        '*.authorization',
        '*.token',
        '*.clientSecret',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(request: FastifyRequest) {
        const [path, query] = request.url.split('?');
        return {
          method: request.method,
          route: request.routeOptions?.url ?? scrub(path ?? ''),
          query: query ? scrub(query) : undefined,
          remoteAddress: request.ip,
        };
      },
    },
  };
}
