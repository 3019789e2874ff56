// The preflight's Dataverse checks of one environment (activities/preflight.ts): the worker's
// application user (WhoAmI), a security role on it that can update systemusers (its roles, and
// RetrieveUserPrivilegeByPrivilegeName for Write on User at organization depth), and the
// non-interactive user limit (RetrieveOrganizationResources).
import type { EnvironmentConfig } from '../config';
import { hasErrorCode } from './errors';
import { requestJson } from './http';
import { WRITE_USER_PRIVILEGE } from './preflight-needs';
import { describe, fail, pass, statusOf, type Run } from './preflight-run';

/** Dataverse's "The user is not a member of the organization." */
const NOT_A_MEMBER = '0x80072560';

interface RolePrivilege {
  Depth: string | number;
  PrivilegeName?: string;
}

interface OrganizationResources {
  MaxNumberOfNonInteractiveUsers: number;
  CurrentNumberOfNonInteractiveUsers: number;
}

export async function dataverseChecks(run: Run, env: EnvironmentConfig): Promise<void> {
  const token = await run.token('token-dataverse', env.name, env.dataverseUrl, `Dataverse (${env.dataverseUrl})`);
  if (!token.token) {
    run.hold(token.check, 'dataverse-application-user', 'dataverse-security-role', 'non-interactive-limit');
    return;
  }
  const base = `${env.dataverseUrl}/api/data/v9.2`;
  const get = async <T>(path: string): Promise<T> =>
    (
      await requestJson<T>({
        service: 'dataverse',
        method: 'GET',
        url: `${base}/${path}`,
        token: token.token,
        timeoutMs: run.timeoutMs(),
      })
    ).body;

  let userId = '';
  const user = await run.check('dataverse-application-user', env.name, async () => {
    try {
      const who = await get<{ UserId: string; BusinessUnitId: string }>('WhoAmI()');
      userId = who.UserId;
      return pass(`application user ${who.UserId} (WhoAmI), in business unit ${who.BusinessUnitId}`);
    } catch (err) {
      if (hasErrorCode(err, NOT_A_MEMBER) || statusOf(err) === 403) {
        return fail(
          `${env.name} has no enabled application user for the worker's app: ${describe(err)}`,
          run.fix.applicationUser(env.name),
        );
      }
      throw err;
    }
  });
  if (!user.ok) {
    // Every other call of the worker's would be refused the same way.
    run.hold(user, 'dataverse-security-role', 'non-interactive-limit');
    return;
  }

  await Promise.all([
    run.check('dataverse-security-role', env.name, async () => {
      const [roles, privileges] = await Promise.all([
        get<{ value: { name: string }[] }>(`systemusers(${userId})/systemuserroles_association?$select=name`),
        get<{ RolePrivileges: RolePrivilege[] }>(
          `systemusers(${userId})/Microsoft.Dynamics.CRM.RetrieveUserPrivilegeByPrivilegeName(PrivilegeName='${WRITE_USER_PRIVILEGE}')`,
        ),
      ]);
      const names = roles.value.map((r) => r.name).join(', ') || 'none';
      // PrivilegeDepth: Basic 0, Local 1, Deep 2, Global 3 (organization); the Web API names it.
      const depths = [...new Set(privileges.RolePrivileges.map((p) => String(p.Depth)))];
      if (depths.some((d) => d === 'Global' || d === '3')) {
        return pass(
          `security roles: ${names}; ${WRITE_USER_PRIVILEGE} at Global (organization) depth: may update systemusers`,
        );
      }
      const held =
        depths.length > 0
          ? `${WRITE_USER_PRIVILEGE} only at ${depths.join(', ')} depth`
          : `no role grants ${WRITE_USER_PRIVILEGE}`;
      return fail(
        `security roles: ${names}; ${held}: the worker cannot update the systemusers of every business unit`,
        run.fix.securityRole(env.name),
      );
    }),
    run.check('non-interactive-limit', env.name, async () => {
      const r = (await get<{ OrganizationResources: OrganizationResources }>('RetrieveOrganizationResources()'))
        .OrganizationResources;
      const limit = env.nonInteractiveLimit ?? r.MaxNumberOfNonInteractiveUsers;
      const source =
        env.nonInteractiveLimit === null
          ? 'MaxNumberOfNonInteractiveUsers'
          : `the configured nonInteractiveLimit; Dataverse says ${r.MaxNumberOfNonInteractiveUsers}`;
      const used = r.CurrentNumberOfNonInteractiveUsers;
      return pass(
        `used ${used} / limit ${limit} non-interactive users (RetrieveOrganizationResources, limit from ${source})` +
          (used >= limit ? ': no slot is free for a new request' : ''),
      );
    }),
  ]);
}
