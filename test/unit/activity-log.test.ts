// The worker's one log line per activity attempt (worker/interceptors.ts), run through the SDK's
// mock activity context with the worker's interceptor and a logger that keeps what it is given.
import { ApplicationFailure, ApplicationFailureCategory, type Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ActivityLogInterceptor } from '../../worker/interceptors';

interface Entry {
  level: string;
  message: string;
  meta?: Record<string, unknown>;
}

async function logOf(activity: () => Promise<unknown>): Promise<Entry[]> {
  const entries: Entry[] = [];
  const at = (level: string) => (message: string, meta?: Record<string, unknown>) =>
    void entries.push({ level, message, meta });
  const logger: Logger = {
    log: (level, message, meta) => at(level)(message, meta),
    trace: at('TRACE'),
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
  };
  const env = new MockActivityEnvironment(
    { activityType: 'awaitSystemUser' },
    {
      logger,
      interceptors: [(ctx) => ({ inbound: new ActivityLogInterceptor(ctx, new AbortController().signal) })],
    },
  );
  await env.run(activity).catch(() => undefined);
  return entries.filter((e) => e.message.startsWith('activity '));
}

test('a completed attempt is one INFO line; a failed one is a WARN line with its failure type', async () => {
  expect((await logOf(async () => 'ok')).map((e) => [e.level, e.message])).toEqual([['INFO', 'activity completed']]);
  const failed = await logOf(async () => {
    throw ApplicationFailure.create({ type: 'graph-unavailable', message: 'x' });
  });
  expect(failed.map((e) => [e.level, e.message, e.meta?.failureType])).toEqual([
    ['WARN', 'activity failed', 'graph-unavailable'],
  ]);
});

test('a benign failure (a sync look that found nothing yet) is logged at DEBUG, not as a warning', async () => {
  const look = await logOf(async () => {
    throw ApplicationFailure.create({
      type: 'sync-pending',
      message: 'not yet',
      category: ApplicationFailureCategory.BENIGN,
    });
  });
  expect(look.map((e) => [e.level, e.message, e.meta?.failureType])).toEqual([
    ['DEBUG', 'activity failed', 'sync-pending'],
  ]);
});
