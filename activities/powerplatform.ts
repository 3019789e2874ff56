// Power Platform admin API: force the sync of an Entra account into an environment (`addUser`),
// instead of waiting minutes to hours for the background sync. Until the license has
// propagated it answers `userNotLicensed`: that is "not yet", not an error.
import type { Config } from '../config';
import type { TokenSource } from './credential';
import { environmentOf } from './environments';
import { requestJson } from './http';

export type AddUserOutcome = 'added' | 'not-licensed';

export function powerPlatformActivities(config: Config, tokens: TokenSource) {
  return {
    async addUser(input: { environment: string; entraObjectId: string }): Promise<AddUserOutcome> {
      const env = environmentOf(config, input.environment);
      const token = await tokens.token(config.microsoft.powerPlatformAudience);
      const url =
        `${config.microsoft.powerPlatformBaseUrl}/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/` +
        `${encodeURIComponent(env.powerPlatformEnvironmentId)}/addUser?api-version=2023-06-01`;
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
        if (/userNotLicensed/i.test((err as Error).message)) return 'not-licensed';
        throw err;
      }
    },
  };
}

export type PowerPlatformActivities = ReturnType<typeof powerPlatformActivities>;
