// Dataverse Web API v9.2, per environment: find the systemuser of an Entra account, set and read
// its access mode, assign security roles (and a business unit), read the organization's
// non-interactive user limit. Plain fetch (http.ts says why).
import type { Config } from '../config';
import type { TokenSource } from './credential';
import { environmentOf } from './environments';
import { failure } from './errors';
import { requestJson } from './http';
import type { EnvironmentCapacity } from '../workflows/types';

/** systemuser.accessmode values (docs/real-tenant.md). */
export const ACCESS_MODE = { readWrite: 0, administrative: 1, read: 2, nonInteractive: 4 } as const;

export interface SystemUser {
  systemUserId: string;
  accessMode: number;
  isDisabled: boolean;
  businessUnitId: string | null;
}

interface SystemUserRow {
  systemuserid: string;
  accessmode: number;
  isdisabled?: boolean;
  _businessunitid_value?: string | null;
}

// An OData string literal: quotes doubled. The whole $filter value is then percent-encoded where
// it goes into a URL, so `&`, `#`, `%` and `+` in a name stay inside the literal.
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const USER_COLUMNS = 'systemuserid,accessmode,isdisabled,_businessunitid_value';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function dataverseActivities(config: Config, tokens: TokenSource) {
  async function api(environment: string) {
    const env = environmentOf(config, environment);
    const base = `${env.dataverseUrl}/api/data/v9.2`;
    const token = await tokens.token(env.dataverseUrl);
    return { env, base, token };
  }

  function guid(id: string, what: string): string {
    if (!GUID.test(id)) throw failure('invalid-request', `${what} is not a GUID: ${id}`);
    return id;
  }

  async function readSystemUser(environment: string, systemUserId: string): Promise<SystemUser> {
    const { base, token } = await api(environment);
    const { body } = await requestJson<SystemUserRow>({
      service: 'dataverse',
      method: 'GET',
      url: `${base}/systemusers(${guid(systemUserId, 'systemuserid')})?$select=${USER_COLUMNS}`,
      token,
    });
    return toUser(body);
  }

  function toUser(row: SystemUserRow): SystemUser {
    return {
      systemUserId: row.systemuserid,
      accessMode: row.accessmode,
      isDisabled: row.isdisabled ?? false,
      businessUnitId: row._businessunitid_value ?? null,
    };
  }

  return {
    /** The systemuser synced from an Entra account, or null while the sync has not happened. */
    async findSystemUser(input: { environment: string; entraObjectId: string }): Promise<SystemUser | null> {
      const { base, token } = await api(input.environment);
      const { body } = await requestJson<{ value: SystemUserRow[] }>({
        service: 'dataverse',
        method: 'GET',
        url:
          `${base}/systemusers?$select=${USER_COLUMNS}` +
          `&$filter=azureactivedirectoryobjectid eq ${guid(input.entraObjectId, 'Entra object id')}`,
        token,
      });
      const row = body.value[0];
      return row ? toUser(row) : null;
    },

    readSystemUser: (input: { environment: string; systemUserId: string }) =>
      readSystemUser(input.environment, input.systemUserId),

    /**
     * PATCH of the access mode; the same value again succeeds (idempotent). The row as it is after
     * the update comes back in the same call (`return=representation`); a server that ignores the
     * preference answers 204, and the row is read.
     */
    async setAccessMode(input: { environment: string; systemUserId: string; accessMode: number }): Promise<SystemUser> {
      const { base, token } = await api(input.environment);
      const { status, body } = await requestJson<SystemUserRow | undefined>({
        service: 'dataverse',
        method: 'PATCH',
        url: `${base}/systemusers(${guid(input.systemUserId, 'systemuserid')})?$select=${USER_COLUMNS}`,
        token,
        body: { accessmode: input.accessMode },
        headers: { 'If-Match': '*', Prefer: 'return=representation' }, // update only, never create
      });
      return status === 200 && body?.systemuserid
        ? toUser(body)
        : readSystemUser(input.environment, input.systemUserId);
    },

    /** Associates the named security roles (in the user's business unit), after moving it to `businessUnit`. */
    async assignSecurityRoles(input: {
      environment: string;
      systemUserId: string;
      roles: string[];
      businessUnit?: string | null;
    }): Promise<{ assigned: string[] }> {
      const { base, token } = await api(input.environment);
      const userId = guid(input.systemUserId, 'systemuserid');
      let user = await readSystemUser(input.environment, userId);
      if (input.businessUnit) {
        const { body } = await requestJson<{ value: { businessunitid: string }[] }>({
          service: 'dataverse',
          method: 'GET',
          url: `${base}/businessunits?$select=businessunitid&$filter=${encodeURIComponent(`name eq ${lit(input.businessUnit)}`)}`,
          token,
        });
        const bu = body.value[0];
        if (!bu) throw failure('business-unit-not-found', `business unit "${input.businessUnit}" does not exist`);
        if (user.businessUnitId !== bu.businessunitid) {
          await requestJson({
            service: 'dataverse',
            method: 'PATCH',
            url: `${base}/systemusers(${userId})`,
            token,
            body: { 'businessunitid@odata.bind': `/businessunits(${bu.businessunitid})` },
            headers: { 'If-Match': '*' },
          });
          user = await readSystemUser(input.environment, userId);
        }
      }
      const { body: held } = await requestJson<{ value: { roleid: string }[] }>({
        service: 'dataverse',
        method: 'GET',
        url: `${base}/systemusers(${userId})/systemuserroles_association?$select=roleid`,
        token,
      });
      const heldIds = new Set(held.value.map((r) => r.roleid));
      for (const name of input.roles) {
        const filter =
          `name eq ${lit(name)}` + (user.businessUnitId ? ` and _businessunitid_value eq ${user.businessUnitId}` : '');
        const { body } = await requestJson<{ value: { roleid: string }[] }>({
          service: 'dataverse',
          method: 'GET',
          url: `${base}/roles?$select=roleid&$filter=${encodeURIComponent(filter)}`,
          token,
        });
        const role = body.value[0];
        if (!role)
          throw failure('role-not-found', `security role "${name}" does not exist in the user's business unit`);
        if (heldIds.has(role.roleid)) continue; // associated by an earlier attempt
        await requestJson({
          service: 'dataverse',
          method: 'POST',
          url: `${base}/systemusers(${userId})/systemuserroles_association/$ref`,
          token,
          body: { '@odata.id': `${base}/roles(${role.roleid})` },
        });
        heldIds.add(role.roleid);
      }
      return { assigned: input.roles };
    },

    /** Live figures from RetrieveOrganizationResources(); the configured override wins for the limit. */
    async readEnvironmentCapacity(input: { environment: string }): Promise<EnvironmentCapacity> {
      const { env, base, token } = await api(input.environment);
      const { body } = await requestJson<{
        OrganizationResources: { MaxNumberOfNonInteractiveUsers: number; CurrentNumberOfNonInteractiveUsers: number };
      }>({ service: 'dataverse', method: 'GET', url: `${base}/RetrieveOrganizationResources()`, token });
      const r = body.OrganizationResources;
      return {
        limit: env.nonInteractiveLimit ?? r.MaxNumberOfNonInteractiveUsers,
        used: r.CurrentNumberOfNonInteractiveUsers,
      };
    },
  };
}

export type DataverseActivities = ReturnType<typeof dataverseActivities>;
