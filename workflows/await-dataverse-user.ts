// Step 3, await-dataverse-user: the account joins the environment's security group, if the
// environment is restricted to one, then the run waits for its systemuser.
//
// Joining the group belongs to this step, at its start, and is not a step of its own (the eight
// step names are a contract): the sync needs the license (step 2) and the group, so the wait for
// the sync begins by giving it the group. Compensation makes the account leave the group only if
// this run made it join (activities/security-group.ts): two environments may share a group, and
// another request's account may rely on the membership.
//
// The wait forces the sync while addUser says "not yet" (license not propagated, or the new
// membership not yet seen by the platform), looks for the systemuser with capped back-off, and
// gives up after syncTimeoutMs. One activity that Temporal retries (activities/await-sync.ts): a
// handful of history events for the whole wait, and no activity slot held between looks.
import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import type { AwaitSystemUserResult } from '../activities/await-sync';
import type { ProvisionActivities } from './activity-options';
import type { Compensations } from './compensation';
import type { StepTracker } from './steps';
import { syncWaitEnd } from './sync-wait';
import type { ProvisionTiming } from './types';

const STEP = 'await-dataverse-user';
const seconds = (ms: number): number => Math.round(ms / 1000);

export interface AwaitDataverseUserInput {
  environment: string;
  entraObjectId: string;
  /** This run created the account (any membership of it is then this run's doing). */
  accountCreated: boolean;
}

export async function awaitDataverseUser(
  run: { act: ProvisionActivities; steps: StepTracker; undo: Compensations; timing: ProvisionTiming },
  input: AwaitDataverseUserInput,
): Promise<AwaitSystemUserResult> {
  const { act, steps, undo, timing } = run;
  const { environment, entraObjectId } = input;
  steps.begin(STEP, "joining the environment's security group, if it has one");
  let group: { groupId: string | null; joined: boolean } | null = null;
  undo.add(STEP, async () => {
    if (!group?.joined || !group.groupId) return;
    const { left } = await act.leaveSecurityGroup({ groupId: group.groupId, entraObjectId });
    if (left) steps.undone(STEP, `removed from security group ${group.groupId} again (this request had added it)`);
  });
  group = await act.joinSecurityGroup(input);
  const { groupId } = group;

  const { syncTimeoutMs, forceSyncWindowMs, forceSyncIntervalMs, syncPollInitialMs, syncPollMaxMs } = timing;
  const waiting =
    `waiting for the systemuser: forcing the sync for up to ${seconds(forceSyncWindowMs)} s, ` +
    `looking again with back-off up to every ${seconds(syncPollMaxMs)} s, for at most ${seconds(syncTimeoutMs)} s`;
  steps.waiting(
    STEP,
    groupId
      ? `${group.joined ? 'added to' : 'already in'} security group ${groupId} (until the platform sees the ` +
          `membership, addUser's "not part of the security group" counts as not yet); ${waiting}`
      : waiting,
  );
  const wait = { syncTimeoutMs, forceSyncWindowMs, forceSyncIntervalMs, syncPollInitialMs, syncPollMaxMs };
  const synced = await act
    .awaitSystemUser({ environment, entraObjectId, securityGroupId: groupId, ...wait })
    .catch((err) => {
      const end = isCancellation(err) ? null : syncWaitEnd(err);
      if (end?.looks) steps.attemptsAre(STEP, end.looks);
      if (!end?.outOfTime) throw err;
      throw ApplicationFailure.create({
        type: 'sync-timeout',
        message:
          `the user did not appear in ${environment} within ${seconds(syncTimeoutMs)} s` +
          (end.addUser === 'not-in-group'
            ? `; addUser still answered that the account is not in security group ${groupId}`
            : ''),
        nonRetryable: true,
      });
    });
  steps.attemptsAre(STEP, synced.attempts);
  steps.complete(STEP, `systemuser ${synced.systemUser.systemUserId}${groupId ? ` (security group ${groupId})` : ''}`);
  return synced;
}
