// The drift audits' findings as Prometheus gauges on the API's /metrics (api/metrics.ts), beside
// the API's own metrics. On the API rather than the worker: the latest audit of an environment is
// what GET /v1/environments/{environment}/audit shows, and the API reads it the same way here,
// so the two never disagree; the worker's endpoint is the Temporal runtime's own, which has no
// place for gauges that outlive a workflow run. A scrape reads the schedules at most every
// CACHE_MS (scrapers may poll often), and a read that fails keeps the last values.
import { Gauge, type Registry } from 'prom-client';
import { countByKind } from '../workflows/audit-rules';
import type { AuditView } from './audit';

export type AuditSource = () => Promise<AuditView[]>;

const CACHE_MS = 15_000;

export function registerAuditMetrics(registry: Registry, read: AuditSource): void {
  // One read serves the three gauges of a scrape (they collect at the same time) and the next
  // scrapes within CACHE_MS.
  let cached: { at: number; views: Promise<AuditView[]> } | null = null;
  let last: AuditView[] = [];
  const latest = (): Promise<AuditView[]> => {
    if (!cached || Date.now() - cached.at >= CACHE_MS) {
      const views = read().then(
        (v) => (last = v),
        // Temporal unreachable: the last values stand (the API's /readyz says why).
        () => last,
      );
      cached = { at: Date.now(), views };
    }
    return cached.views;
  };
  new Gauge({
    name: 'niu_audit_findings',
    help: "Findings of each environment's latest completed drift audit, by kind (repaired ones included).",
    labelNames: ['environment', 'kind'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const view of await latest()) {
        if (view.completedAt === null) continue;
        for (const [kind, n] of Object.entries(countByKind(view.findings)))
          this.set({ environment: view.environment, kind }, n);
      }
    },
  });
  new Gauge({
    name: 'niu_audit_findings_unrepaired',
    help: "Findings of each environment's latest completed drift audit that are still open (not repaired).",
    labelNames: ['environment'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const view of await latest()) {
        if (view.completedAt === null) continue;
        this.set({ environment: view.environment }, view.findings.filter((f) => !f.repaired).length);
      }
    },
  });
  new Gauge({
    name: 'niu_audit_last_completed_timestamp_seconds',
    help: "When each environment's latest drift audit completed (Unix time): alert when it falls behind its interval.",
    labelNames: ['environment'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const view of await latest()) {
        if (view.completedAt !== null) this.set({ environment: view.environment }, Date.parse(view.completedAt) / 1000);
      }
    },
  });
}
