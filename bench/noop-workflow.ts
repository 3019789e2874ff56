// Baseline of the orchestration benchmark: as many activities as a provisioning run executes
// (create, license, wait, set mode, remove license, re-read: 6), one after the other, each doing
// nothing. What is left is the cost of Temporal itself on this server and worker.
import { proxyActivities } from '@temporalio/workflow';
import type { BenchActivities } from './noop-activity';

const { noop } = proxyActivities<BenchActivities>({ startToCloseTimeout: '60 seconds' });

export async function noopBaseline(activities: number): Promise<number> {
  for (let i = 0; i < activities; i++) await noop(i);
  return activities;
}
