// `checkEnvironmentReadiness`: a short workflow the API runs to check an environment's
// prerequisites live with the worker's identity (the API never calls Microsoft itself; the worker
// holds the credentials). The checks are activities/preflight.ts, the same as `npm run doctor`:
// they report what fails rather than failing, so one attempt is enough, bounded in time.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PreflightReport } from './types';

const { checkReadiness } = proxyActivities<Activities>({
  // The checks bound their own calls (activities/preflight-run.ts BUDGET_MS): this is a backstop.
  startToCloseTimeout: '40 seconds',
  retry: { maximumAttempts: 1 },
  summary: "check the environment's prerequisites (npm run doctor's checks)",
});

export async function checkEnvironmentReadiness(environment: string): Promise<PreflightReport> {
  return checkReadiness({ environment });
}
