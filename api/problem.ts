// RFC 9457 problem details: the one error shape of the API. Every error the server can produce
// (validation, auth, unknown route, wrong method, body too large, unsupported media type, rate
// limit, Temporal unreachable, bugs) leaves through `sendProblem`, so clients parse one format.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** Base of the `type` URIs; they name the error class and are stable. */
export const PROBLEM_TYPE_BASE = 'https://noninteractive-users.dev/problems/';

export interface FieldError {
  /** JSON pointer into the request part, e.g. `/body/userPrincipalName`. */
  pointer: string;
  detail: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request path (no query string): which request this problem answers. */
  instance: string;
  /** The request id, also in the `x-request-id` header and in every log line of the request. */
  requestId: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

const TITLES: Record<number, [slug: string, title: string]> = {
  400: ['invalid-request', 'The request is not valid'],
  401: ['unauthorized', 'Authentication required'],
  403: ['forbidden', 'Not allowed'],
  404: ['not-found', 'Not found'],
  405: ['method-not-allowed', 'Method not allowed'],
  409: ['conflict', 'Conflict'],
  413: ['payload-too-large', 'Request body too large'],
  414: ['uri-too-long', 'URI too long'],
  415: ['unsupported-media-type', 'Unsupported media type'],
  422: ['unprocessable', 'The request cannot be processed'],
  429: ['rate-limited', 'Too many requests'],
  500: ['internal', 'Internal server error'],
  503: ['unavailable', 'Service unavailable'],
};

export function titleFor(status: number): [slug: string, title: string] {
  return TITLES[status] ?? (status >= 500 ? ['internal', 'Internal server error'] : ['error', 'Request failed']);
}

/**
 * An error a handler throws on purpose: its status, a stable type slug and a message that is
 * safe to show the client. Anything else that reaches the error handler is a 500 whose
 * message stays in the logs.
 */
export class HttpProblem extends Error {
  constructor(
    readonly statusCode: number,
    readonly slug: string,
    detail: string,
    readonly extensions: { errors?: FieldError[]; headers?: Record<string, string> } & Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }
}

export function buildProblem(
  request: FastifyRequest,
  status: number,
  slug: string,
  detail: string,
  extra: Record<string, unknown> = {},
): Problem {
  const [, title] = titleFor(status);
  const instance = request.url.split('?')[0] ?? request.url;
  return { type: PROBLEM_TYPE_BASE + slug, title, status, detail, instance, requestId: String(request.id), ...extra };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  // Serialized here rather than by a route's response schema, so an error from any route (or
  // from no route at all) has exactly the same shape.
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}
