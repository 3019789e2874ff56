// Power Platform admin API: force the sync of an Entra account into an environment (`addUser`),
// instead of waiting minutes to hours for the background sync. Two answers mean "not yet", not
// an error:
// - `userNotLicensed` until the license has propagated;
// - `userNotPartOfSecurityGroup` right after the account joined the environment's security group
//   (activities/security-group.ts): Graph's membership takes a while to reach the platform.
//   Naming a group the account did not join, it means the group this worker read is out of date
//   (an administrator restricted the environment, or changed its group, since): the request
//   fails, and the next one reads the group again.
// The codes are looked for wherever the body carries them (errors.ts reads both of the admin
// API's error shapes), as Microsoft's Terraform provider looks for userNotLicensed anywhere in the
// answer: no recorded answer of the real service shows which shape that one comes in.
import { ApplicationFailure } from '@temporalio/common';
import type { AdminEnvironments } from './admin-environments';
import { ADMIN_API_VERSION } from './admin-environments';
import type { Config } from '../config';
import type { TokenSource } from './credential';
import { failure, hasErrorCode } from './errors';
import { requestJson } from './http';

export type AddUserOutcome = 'added' | 'not-licensed' | 'not-in-group';

export interface AddUserInput {
  environment: string;
  entraObjectId: string;
  /** The security group the account joined for this environment (null: none). */
  securityGroupId?: string | null;
}

/** The group an addUser refusal names ("User … is not part of security group <id>"), if it names one. */
function groupNamed(err: ApplicationFailure): string | null {
  return /security group ([0-9a-f-]{36})/i.exec(err.message)?.[1]?.toLowerCase() ?? null;
}

export function powerPlatformActivities(config: Config, tokens: TokenSource, admin: AdminEnvironments) {
  return {
    async addUser(input: AddUserInput): Promise<AddUserOutcome> {
      const url = `${await admin.environmentUrl(input.environment)}/addUser?api-version=${ADMIN_API_VERSION}`;
      const token = await tokens.token(config.microsoft.powerPlatformAudience);
      try {
        await requestJson({
          service: 'powerplatform',
          method: 'POST',
          url,
          token,
          body: { objectId: input.entraObjectId },
        });
        return 'added';
      } catch (err) {
        if (hasErrorCode(err, 'userNotLicensed')) return 'not-licensed';
        if (!hasErrorCode(err, 'userNotPartOfSecurityGroup')) throw err;
        const joined = input.securityGroupId ?? null;
        const named = groupNamed(err as ApplicationFailure);
        if (joined && (named === null || named === joined)) return 'not-in-group';
        admin.forgetSecurityGroup(input.environment);
        throw failure(
          'invalid-request',
          `environment ${input.environment} is restricted to security group ${named ?? '(unnamed)'}, which the account ` +
            `did not join (${joined ? `it joined ${joined}` : 'the worker knew of no group'}): the environment's group ` +
            `changed since the worker read it; submit the request again (${(err as Error).message})`,
        );
      }
    },
  };
}

export type PowerPlatformActivities = ReturnType<typeof powerPlatformActivities>;
