// The sync wait's looks keep their schedule: while forcing, the delay to the next look leaves out
// this look's own run and how late it came against a grid from the first look, so lateness does
// not add up over a long wait. The activity runs in the SDK's mock activity context with Graph
// and Dataverse stood in by slow functions.
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { awaitSyncActivities, behindGrid } from '../../activities/await-sync';
import { SYNC_PENDING } from '../../workflows/sync-wait';

const INTERVAL = 1_000;
/**
 * At least `ms` by Date.now(), which the activity measures with: a timer alone may fire a
 * millisecond early by that clock (libuv times from the start of its loop turn), and a look whose
 * calls took 99 ms instead of 100 once failed the bound below in CI.
 */
async function sleep(ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, until - Date.now()));
}
/** A wait that forces the sync every second for its whole minute. */
const INPUT = {
  environment: 'contoso-prod',
  entraObjectId: '00000000-0000-0000-0000-000000000001',
  securityGroupId: null,
  syncTimeoutMs: 60_000,
  forceSyncWindowMs: 60_000,
  forceSyncIntervalMs: INTERVAL,
  syncPollInitialMs: INTERVAL,
  syncPollMaxMs: INTERVAL,
};

/** The fifth look, due `lateMs` after its grid point, whose two calls take `callsMs`. */
async function fifthLook(lateMs: number, callsMs: number): Promise<ApplicationFailure> {
  const activities = awaitSyncActivities({
    addUser: async () => (await sleep(callsMs / 2), 'not-licensed'),
    findSystemUser: async () => (await sleep(callsMs / 2), null),
  });
  const due = Date.now();
  const env = new MockActivityEnvironment({
    attempt: 5,
    scheduledTimestampMs: due - 4 * INTERVAL - lateMs,
    currentAttemptScheduledTimestampMs: due,
  });
  const err = await env.run(activities.awaitSystemUser, INPUT).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  expect((err as ApplicationFailure).type).toBe(SYNC_PENDING);
  return err as ApplicationFailure;
}

describe('the sync wait', () => {
  it("takes the look's own calls and its lateness on the grid off the next delay", async () => {
    const failure = await fifthLook(60, 100);
    const delay = Number(failure.nextRetryDelay);
    expect(delay).toBeLessThanOrEqual(INTERVAL - 160);
    expect(delay).toBeGreaterThan(INTERVAL - 450); // the calls took 100 ms, not much more
    expect(failure.details?.[0]).toMatchObject({ attempt: 5, addUser: 'not-licensed', nextLookMs: INTERVAL });
  });

  it('is benign: an expected outcome, logged at debug level and not counted as a failure', async () => {
    expect((await fifthLook(0, 0)).category).toBe(ApplicationFailureCategory.BENIGN);
  });

  it('corrects only lateness near a grid point', () => {
    expect(behindGrid(0, 4_030, INTERVAL)).toBe(30);
    expect(behindGrid(0, 4_000, INTERVAL)).toBe(0);
    // Far from any grid point (earlier looks at other intervals): no correction.
    expect(behindGrid(0, 4_700, INTERVAL)).toBe(0);
    expect(behindGrid(5_000, 4_000, INTERVAL)).toBe(0);
  });

  describe('a look', () => {
    const user = {
      systemUserId: '00000000-0000-0000-0000-0000000000aa',
      accessMode: 0,
      isDisabled: false,
      businessUnitId: null,
    };
    /** The third look, against a Dataverse where the user is visible (or not) and an addUser that may sync it. */
    const look = async (
      state: { visible: boolean; addUser: 'added' | 'not-licensed' | 'not-in-group' },
      input: typeof INPUT | (Omit<typeof INPUT, 'securityGroupId'> & { securityGroupId: string }) = INPUT,
    ) => {
      const calls: string[] = [];
      const activities = awaitSyncActivities({
        addUser: async ({ securityGroupId }) => {
          calls.push(securityGroupId ? `addUser (${securityGroupId})` : 'addUser');
          if (state.addUser === 'added') state.visible = true;
          return state.addUser;
        },
        findSystemUser: async () => (calls.push('find'), state.visible ? user : null),
      });
      const env = new MockActivityEnvironment({ attempt: 3, scheduledTimestampMs: Date.now() - 2 * INTERVAL });
      const outcome = await env.run(activities.awaitSystemUser, input).catch((e: unknown) => e);
      return { calls, outcome };
    };

    it('that finds the user makes one call: no addUser once the user is there', async () => {
      const { calls, outcome } = await look({ visible: true, addUser: 'not-licensed' });
      expect(outcome).toEqual({ systemUser: user, attempts: 3 });
      expect(calls).toEqual(['find']);
    });

    it('looks again at once when addUser synced the user', async () => {
      const { calls, outcome } = await look({ visible: false, addUser: 'added' });
      expect(outcome).toEqual({ systemUser: user, attempts: 3 });
      expect(calls).toEqual(['find', 'addUser', 'find']);
    });

    it('forces the sync while the user is not there', async () => {
      const { calls, outcome } = await look({ visible: false, addUser: 'not-licensed' });
      expect((outcome as ApplicationFailure).type).toBe(SYNC_PENDING);
      expect(calls).toEqual(['find', 'addUser']);
    });

    it('takes "not in the security group it just joined" as not yet: the next look on the forcing interval', async () => {
      const group = '00000000-0000-0000-0000-0000000000bb';
      const { calls, outcome } = await look(
        { visible: false, addUser: 'not-in-group' },
        { ...INPUT, securityGroupId: group },
      );
      expect(calls).toEqual(['find', `addUser (${group})`]);
      expect((outcome as ApplicationFailure).type).toBe(SYNC_PENDING);
      expect((outcome as ApplicationFailure).details?.[0]).toMatchObject({
        addUser: 'not-in-group',
        nextLookMs: INTERVAL,
      });
    });
  });
});
