// Stops what test/helpers/cluster-setup.ts started: its control endpoint, then the Temporal
// server and PostgreSQL.
export default async function clusterTeardown(): Promise<void> {
  const started = globalThis.__NIU_CLUSTER__;
  if (!started) return;
  await new Promise<void>((resolve) => started.control.close(() => resolve()));
  await started.cluster.stop();
}
