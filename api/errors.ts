// The one error handler, plus the not-found handler that tells 404 (no such route) from 405
// (route exists, other method). Every answer is problem+json (api/problem.ts). Messages of
// unexpected errors never reach the client; they are logged with the request id, scrubbed of
// user principal names.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { buildProblem, HttpProblem, sendProblem, titleFor, type FieldError } from './problem';
import { scrub } from './logging';

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** Turns Ajv errors into `{pointer, detail}` entries: `/body/userPrincipalName`, `must match …`. */
export function fieldErrors(validation: AjvError[], context: string | undefined): FieldError[] {
  return validation.map((e) => {
    let pointer = `/${context ?? 'body'}${e.instancePath ?? ''}`;
    let detail = e.message ?? 'is not valid';
    const params = e.params ?? {};
    if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
      pointer += `/${params.missingProperty}`;
      detail = 'is required';
    } else if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
      pointer += `/${params.additionalProperty}`;
      detail = 'is not a known field';
    }
    return { pointer, detail };
  });
}

/**
 * Fastify's `frameworkErrors` option: the router's own refusals (malformed percent-encoding,
 * over-long parameter) answer in problem+json like every other error, and never echo the URL back.
 */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (error, request, reply) => {
  const status = (error as { statusCode?: number }).statusCode === 414 ? 414 : 400;
  return sendProblem(
    reply,
    buildProblem(
      request,
      status,
      status === 414 ? 'uri-too-long' : 'invalid-request',
      status === 414 ? 'A path parameter is too long.' : 'The request URL is not valid (malformed percent-encoding).',
    ),
  );
};

export function registerErrorHandling(app: FastifyInstance): void {
  // Route patterns per method, to answer 405 (with Allow) instead of 404 for a known path.
  const routes: { pattern: RegExp; methods: Set<string> }[] = [];
  app.addHook('onRoute', (route) => {
    const source = route.url
      .split('/')
      .map((part) =>
        part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    const pattern = new RegExp(`^${source}/?$`);
    // CORS preflight (`OPTIONS *`) matches every path; it says nothing about allowed methods.
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((m) => m !== 'OPTIONS');
    if (methods.length === 0) return;
    const existing = routes.find((r) => r.pattern.source === pattern.source);
    if (existing) methods.forEach((m) => existing.methods.add(m));
    else routes.push({ pattern, methods: new Set(methods) });
  });

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = new Set<string>();
    for (const r of routes) if (r.pattern.test(path)) r.methods.forEach((m) => allowed.add(m));
    if (allowed.size > 0 && !allowed.has(request.method)) {
      reply.header('allow', [...allowed].sort().join(', '));
      return sendProblem(
        reply,
        buildProblem(request, 405, 'method-not-allowed', `${request.method} is not supported on this resource.`),
      );
    }
    return sendProblem(reply, buildProblem(request, 404, 'not-found', 'No resource at this path.'));
  });

  app.setErrorHandler((error: FastifyError | HttpProblem | Error, request, reply) => {
    if (error instanceof HttpProblem) {
      const { headers, ...extensions } = error.extensions;
      for (const [name, value] of Object.entries(headers ?? {})) reply.header(name, value);
      if (error.statusCode >= 500)
        request.log.warn({ problem: error.slug, detail: scrub(error.message) }, 'request failed');
      return sendProblem(reply, buildProblem(request, error.statusCode, error.slug, error.message, extensions));
    }
    const fastifyError = error as FastifyError & { validationContext?: string };
    if (fastifyError.validation) {
      const errors = fieldErrors(fastifyError.validation as AjvError[], fastifyError.validationContext);
      return sendProblem(
        reply,
        buildProblem(request, 400, 'invalid-request', 'The request does not match the schema.', { errors }),
      );
    }
    const status = fastifyError.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own client errors (bad JSON, body too large, media type, rate limit): their
      // messages describe the request, not the server, so they are safe to pass on. Fastify's
      // for a media type it has no parser for says only "Unsupported Media Type".
      const [slug] = titleFor(status);
      const detail =
        fastifyError.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'The request body must be JSON, sent as content-type application/json.'
          : fastifyError.message;
      return sendProblem(reply, buildProblem(request, status, slug, detail));
    }
    request.log.error({ error: scrubError(error) }, 'unexpected error');
    return sendProblem(
      reply,
      buildProblem(request, 500, 'internal', `An unexpected error occurred; quote request id ${request.id}.`),
    );
  });
}

/** Logs an error without user principal names in its message or stack. */
function scrubError(error: Error): { type: string; message: string; stack?: string } {
  return { type: error.name, message: scrub(error.message), stack: error.stack ? scrub(error.stack) : undefined };
}
