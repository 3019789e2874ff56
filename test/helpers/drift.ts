// Provoking the drift audit's findings in the sandbox, the way they happen in a tenant: through
// Graph and Dataverse as an administrator's tools would call them (the provisioner's identity
// stands in for the administrator), and through the control API only for what Microsoft's APIs
// do not allow (a password's age, a systemuser disabled in Dataverse).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client as GraphClient } from '@microsoft/microsoft-graph-client';
import { addUser, credential, createUser, dataverseUrl, license, unlicense, type Sandbox } from './sandbox';
import type { SandboxControl } from './sandbox';
import { sandboxEnvironments } from '../../config';

/** PATCH of a systemuser's access mode through the Dataverse Web API (an administrator's change). */
export async function setAccessModeInDataverse(
  sandbox: Sandbox,
  environment: string,
  systemUserId: string,
  accessMode: number,
): Promise<void> {
  const base = dataverseUrl(sandbox, environment);
  const { token } = await credential(sandbox).getToken(`${base}/.default`);
  const res = await fetch(`${base}/api/data/v9.2/systemusers(${systemUserId})`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'if-match': '*' },
    body: JSON.stringify({ accessmode: accessMode }),
  });
  if (!res.ok) throw new Error(`PATCH systemusers(${systemUserId}): ${res.status} ${await res.text()}`);
}

/**
 * A non-interactive user made by hand, as an administrator would in the admin portals: an account
 * without this service's mark, licensed, synced into the environment (addUser), set to mode 4.
 * It keeps its license unless `keepLicense` is false. Returns its ids.
 */
export async function createUnmanagedUser(
  deps: { sandbox: Sandbox; graph: GraphClient; control: SandboxControl },
  environment: string,
  upn: string,
  options: { keepLicense?: boolean } = {},
): Promise<{ entraObjectId: string; systemUserId: string }> {
  const { sandbox, graph, control } = deps;
  const entraObjectId = await createUser(graph, upn);
  await license(graph, entraObjectId);
  let systemUserId: string | undefined;
  for (let i = 0; i < 100 && !systemUserId; i++) {
    await addUser(sandbox, environment, entraObjectId);
    const state = await control.state();
    systemUserId = state.environments[environment]!.systemusers.find(
      (s) => s.azureactivedirectoryobjectid === entraObjectId,
    )?.systemuserid;
    if (!systemUserId) await new Promise((r) => setTimeout(r, 200));
  }
  if (!systemUserId) throw new Error(`${upn} did not sync into ${environment}`);
  await setAccessModeInDataverse(sandbox, environment, systemUserId, 4);
  if (options.keepLicense === false) await unlicense(graph, entraObjectId);
  return { entraObjectId, systemUserId };
}

/** A password subject to the tenant's expiry, last changed `days` ago. */
export async function agePassword(
  graph: GraphClient,
  control: SandboxControl,
  entraObjectId: string,
  days: number,
): Promise<void> {
  await graph.api(`/users/${entraObjectId}`).patch({ passwordPolicies: 'None' });
  await control.setPasswordChanged(entraObjectId, new Date(Date.now() - days * 24 * 60 * 60_000).toISOString());
}

/**
 * An environments file of the sandbox's two environments, with each one's `auditRepair` as given
 * (and its `rotatePasswordAfterDays`, when given).
 */
export function auditEnvironmentsFile(
  sandboxUrl: string,
  repair: Record<string, boolean>,
  rotateAfterDays: Record<string, number> = {},
): string {
  const environments = sandboxEnvironments(sandboxUrl).environments.map((e) => ({
    ...e,
    auditRepair: repair[e.name] ?? false,
    rotatePasswordAfterDays: rotateAfterDays[e.name] ?? null,
  }));
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'niu-audit-')), 'environments.json');
  writeFileSync(file, JSON.stringify({ environments }));
  return file;
}
