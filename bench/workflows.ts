// The workflow bundle of the benchmark's worker: the service's workflows unchanged, plus the
// baselines of the orchestration benchmark, registered on the same worker and task queue.
export * from '../workflows';
export { noopBaseline } from './noop-workflow';
export { noopUpsertBaseline } from './noop-upsert-workflow';
