// Power Platform admin API: force the sync of an Entra account into an environment (`addUser`),
// instead of waiting minutes to hours for the background sync. Until the license has
// propagated it answers `userNotLicensed`: that is "not yet", not an error. The code is looked
// for wherever the body carries it (errors.ts reads both of the admin API's error shapes), as
// Microsoft's Terraform provider looks for it anywhere in the answer: no recorded answer of the
// real service shows which shape it comes in.
import type { AdminEnvironments } from './admin-environments';
import { ADMIN_API_VERSION } from './admin-environments';
import type { Config } from '../config';
import type { TokenSource } from './credential';
import { hasErrorCode } from './errors';
import { requestJson } from './http';

export type AddUserOutcome = 'added' | 'not-licensed';

export function powerPlatformActivities(config: Config, tokens: TokenSource, admin: AdminEnvironments) {
  return {
    async addUser(input: { environment: string; entraObjectId: string }): Promise<AddUserOutcome> {
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
        throw err;
      }
    },
  };
}

export type PowerPlatformActivities = ReturnType<typeof powerPlatformActivities>;
