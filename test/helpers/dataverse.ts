// What the Dataverse contract tests (test/integration/sandbox-dataverse*.test.ts) share: a
// sandbox whose Entra sync takes SYNC_MS, reset before each test; dynamics-web-api against the
// first environment; users created and licensed in Entra, then waited for until the sync
// brought them into Dataverse; and the rows and errors as the tests read them.
import type { DynamicsWebApi } from 'dynamics-web-api';
import { later, useSandbox } from './lifecycle';
import { caught, createUser, dataverseClient, license, sleep } from './sandbox';

export const PROD = 'contoso-prod';
export const TEST = 'contoso-test';
// Long enough that a check right after licensing reliably comes before the sync, even on a busy machine.
export const SYNC_MS = 700;

export interface SystemUserRow {
  systemuserid: string;
  azureactivedirectoryobjectid: string;
  accessmode: number;
  isdisabled: boolean;
  domainname: string;
  _businessunitid_value: string;
  systemuserroles_association?: { roleid: string; name: string }[];
}

/** The sandbox (useSandbox, synced after SYNC_MS), `prod` (dynamics-web-api on PROD) and `syncedUser`. */
export function useDataverse() {
  const fixture = useSandbox({ reset: { syncDelayMs: SYNC_MS, licensePropagationMs: 0 } });
  const prod = later<DynamicsWebApi>(`the Dataverse client of ${PROD}`);
  beforeAll(() => prod.set(dataverseClient(fixture.sandbox, PROD)));
  /** A user created and licensed in Entra, waited for until the sync brought it into `prod`. */
  async function syncedUser(upn: string): Promise<{ objectId: string; su: SystemUserRow }> {
    const objectId = await createUser(fixture.graph, upn);
    await license(fixture.graph, objectId);
    await sleep(SYNC_MS + 50);
    const su = await findSystemUser(prod.proxy, objectId);
    if (!su) throw new Error(`${upn} did not sync`);
    return { objectId, su };
  }
  return { ...fixture, prod: prod.proxy, syncedUser };
}

export async function findSystemUser(api: DynamicsWebApi, objectId: string): Promise<SystemUserRow | undefined> {
  const res = await api.retrieveMultiple<SystemUserRow>({
    collection: 'systemusers',
    filter: `azureactivedirectoryobjectid eq ${objectId}`,
  });
  return res.value?.[0];
}

export async function setMode(api: DynamicsWebApi, id: string, accessmode: number) {
  await api.update({ collection: 'systemusers', key: id, data: { accessmode } });
}

/** The error a Dataverse call failed with: status, Dataverse's code and message. */
export async function dvError(promise: Promise<unknown>) {
  const err = await caught(promise);
  return { status: err.status as number, code: err.code as string, message: err.message as string };
}

/** RetrieveOrganizationResources: the non-interactive limit and count of the environment. */
export async function resources(api: DynamicsWebApi) {
  const res = await api.callFunction<{ OrganizationResources: Record<string, number> }>(
    'RetrieveOrganizationResources',
  );
  return res.OrganizationResources;
}
