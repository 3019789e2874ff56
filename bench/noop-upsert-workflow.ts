// Second, informational baseline of the orchestration benchmark: the no-op workflow plus one
// NiuStep search attribute upsert per activity, as the service upserts its current step (the
// architecture contract keeps it current for operators). Each upsert is a visibility write on
// the server, which on the dev server's SQLite is a large part of a request's cost; this
// baseline tells that cost apart from the rest of the service's orchestration.
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import { NiuStep } from '../workflows/definitions';
import { STEP_NAMES } from '../workflows/types';
import type { BenchActivities } from './noop-activity';

const { noop } = proxyActivities<BenchActivities>({ startToCloseTimeout: '60 seconds' });

export async function noopUpsertBaseline(activities: number): Promise<number> {
  for (let i = 0; i < activities; i++) {
    // The service's step names, so the values written are as long as the service's.
    upsertSearchAttributes([{ key: NiuStep, value: STEP_NAMES[i % STEP_NAMES.length]! }]);
    await noop(i);
  }
  return activities;
}
