// The API's Prometheus metrics at GET /metrics (on the API's own port, like /healthz; keep it
// off the public ingress): request duration per route pattern and status, workflow starts by
// outcome, status documents by source, plus Node's process metrics. Each app has its own
// registry, so tests can build several apps in one process.
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { StatusSource } from './status';
import { registerAuditMetrics, type AuditSource } from './audit-metrics';

/** What POST /v1/non-interactive-users did, from its HTTP answer. */
const START_OUTCOMES: Record<number, string> = {
  202: 'started',
  200: 'already-running',
  400: 'invalid',
  409: 'already-provisioned',
  422: 'invalid',
  429: 'rate-limited',
  503: 'temporal-unavailable',
};

export interface ApiMetrics {
  /** Counts a status document by where it came from (the service calls it). */
  statusDocument(source: StatusSource): void;
}

export function registerMetrics(app: FastifyInstance, sources: { audits?: AuditSource } = {}): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'niu_api_' });
  if (sources.audits) registerAuditMetrics(registry, sources.audits);
  const duration = new Histogram({
    name: 'niu_api_http_request_duration_seconds',
    help: 'HTTP request duration by route pattern (never the raw URL: ids hold UPNs), method and status.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const starts = new Counter({
    name: 'niu_api_workflow_starts_total',
    help: 'Provisioning requests received, by outcome (started, already-running, already-provisioned, invalid, ...).',
    labelNames: ['environment', 'outcome'] as const,
    registers: [registry],
  });
  // 'server' documents were rebuilt without the workflow's answer (no worker answered in time):
  // a rising share of them means the workers are down or overloaded.
  const statusDocuments = new Counter({
    name: 'niu_api_status_documents_total',
    help: "Status documents served, by source: query (the workflow answered), result (a finished request's final steps, from its close event), server (rebuilt from the server's view alone).",
    labelNames: ['source'] as const,
    registers: [registry],
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    duration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (
      request.method === 'POST' &&
      route === '/v1/non-interactive-users' &&
      reply.statusCode !== 401 &&
      reply.statusCode !== 403
    ) {
      const body = request.body as { environment?: unknown } | undefined;
      const environment = typeof body?.environment === 'string' && reply.statusCode < 400 ? body.environment : 'n/a';
      starts.inc({ environment, outcome: START_OUTCOMES[reply.statusCode] ?? 'error' });
    }
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
  return { statusDocument: (source) => statusDocuments.inc({ source }) };
}
