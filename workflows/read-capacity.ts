// `readEnvironmentCapacity`: a short workflow the API runs to get live figures from Dataverse
// (the API never calls Microsoft itself; the worker holds the credentials).
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EnvironmentCapacity } from './types';

const { readEnvironmentCapacity: readLive } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '5 seconds', maximumAttempts: 3 },
  summary: 'read the non-interactive user limit and count',
});

export async function readEnvironmentCapacity(environment: string): Promise<EnvironmentCapacity> {
  return readLive({ environment });
}
