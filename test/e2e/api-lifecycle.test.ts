// Deprovisioning and password rotation through the REST API over real HTTP, against a stack of
// its own (the jest run's Temporal dev server, the sandbox over HTTPS with its Key Vault, a
// worker, the API on a real port): the capacity freed, the secret deleted, the account disabled,
// provisioned again; the conflicts; a rotation's new secret version.
import { SecretClient } from '@azure/keyvault-secrets';
import type { StatusDocument } from '../../workflows/types';
import { DEPROVISION_STEP_NAMES, type DeprovisionStatus, type RotationStatus } from '../../workflows/lifecycle-types';
import { call, eventually, idPath } from '../helpers/api';
import { expectProblem } from '../helpers/api-app';
import type { ApiResponse } from '../helpers/api';
import { useApiStack } from '../helpers/api-stack';
import { FAST_TIMING } from '../helpers/worker';
import { createTokenSource } from '../../activities/credential';
import { vaultCredential } from '../../activities/keyvault';
import { loadConfig } from '../../config';

const VAULT_ENV = { KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true' };
const e2e = useApiStack({
  name: 'api-lifecycle',
  workflowTiming: { ...FAST_TIMING, syncTimeoutMs: 120_000 },
  env: (sandbox) => ({ KEYVAULT_URL: sandbox.url, ...VAULT_ENV }),
});
const { api, create, untilClosed } = e2e;
const secretOf = (upn: string) => `niu-${upn.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;

/** A problem+json answer of this status, whose type ends with `slug`. */
function problem(res: ApiResponse, status: number, slug?: string): void {
  const body = expectProblem(res, status);
  if (slug) expect(String(body.type)).toMatch(new RegExp(`${slug}$`));
}

async function provisioned(upn: string): Promise<StatusDocument> {
  const res = await create(upn);
  expect(res.status).toBe(202);
  const doc = await untilClosed(res.body.links.self);
  expect(doc.status).toBe('succeeded');
  return doc;
}

async function capacity(): Promise<{ available: number; used: number }> {
  const res = await api<{ available: number; used: number }>('GET', '/v1/environments/contoso-prod/capacity');
  expect(res.status).toBe(200);
  return res.body;
}

function vault(): SecretClient {
  const config = loadConfig({
    NIU_SANDBOX: 'true',
    SANDBOX_URL: e2e.stack.sandbox.url,
    KEYVAULT_URL: e2e.stack.sandbox.url,
    ...VAULT_ENV,
  });
  return new SecretClient(e2e.stack.sandbox.url, vaultCredential(createTokenSource(config).credential), {
    disableChallengeResourceVerification: true,
  });
}

it('DELETE: 202 with Location, the same while it runs; capacity +1, secret gone, account disabled; 200 after; provisioned again', async () => {
  const upn = 'svc-e2e-deprov@contoso.onmicrosoft.com';
  const id = `niu:contoso-prod:${upn}`;
  const { result } = await provisioned(upn);
  const before = await capacity();
  expect((await vault().getSecret(secretOf(upn))).value).toBeTruthy();

  // Dataverse slow to answer the access mode's PATCH: the deprovisioning is still running when repeated.
  await e2e.stack.control.faults([
    { service: 'dataverse', method: 'PATCH', path: 'systemusers', delayMs: 3000, count: 1 },
  ]);
  const res = await api<{ id: string; status: string; links: { self: string; user: string } }>('DELETE', idPath(id));
  expect(res.status).toBe(202);
  const location = res.headers.get('location')!;
  expect(location).toBe(`${e2e.stack.apiUrl}${idPath(id)}/deprovisioning`);
  expect(res.body).toMatchObject({
    id,
    status: 'running',
    links: { self: location, user: `${e2e.stack.apiUrl}${idPath(id)}` },
  });
  const repeated = await api('DELETE', idPath(id));
  expect(repeated.status).toBe(202);
  expect(repeated.headers.get('location')).toBe(location);
  // Running: the user cannot be rotated now.
  problem(await api('POST', `${idPath(id)}/rotate-password`), 409, 'deprovisioned');

  const doc = await eventually(async () => {
    const r = await call<DeprovisionStatus>(location, 'GET', '', { token: e2e.reader });
    expect(r.status).toBe(200);
    expect(r.body.steps.map((s) => s.name)).toEqual([...DEPROVISION_STEP_NAMES]);
    return r.body.status === 'running' ? undefined : r.body;
  }, 60_000);
  expect(doc).toMatchObject({ id, status: 'succeeded', error: null });
  expect(doc.result).toMatchObject({ accessMode: 0, accountDisabled: true, passwordSecretDeleted: true });

  const after = await capacity();
  expect(after.available).toBe(before.available + 1);
  expect(after.used).toBe(before.used - 1);
  await expect(vault().getSecret(secretOf(upn))).rejects.toMatchObject({ statusCode: 404 });
  const state = await e2e.stack.control.state();
  expect(state.users.find((u) => u.id === result!.entraObjectId)?.accountEnabled).toBe(false);

  const again = await api('DELETE', idPath(id));
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ status: 'succeeded' });

  // The same user requested again: a new provisioning run, which succeeds.
  const reprovisioned = await provisioned(upn);
  expect(reprovisioned.result?.entraObjectId).toBe(result!.entraObjectId);
  expect((await capacity()).used).toBe(before.used);
  expect((await vault().getSecret(secretOf(upn))).value).toBeTruthy();
});

it('conflicts: 409 while provisioning runs, 409 once it was cancelled; 404 unknown id or no deprovisioning', async () => {
  const upn = 'svc-e2e-deprov-running@contoso.onmicrosoft.com';
  const id = `niu:contoso-prod:${upn}`;
  problem(await api('DELETE', idPath(id)), 404, 'not-found');
  problem(await api('DELETE', idPath('not-an-id')), 404, 'not-found');
  problem(await api('POST', `${idPath(id)}/rotate-password`), 404, 'not-found');
  problem(await api('GET', `${idPath(id)}/deprovisioning`), 404, 'not-found');

  await e2e.stack.control.config({ syncDelayMs: 3_600_000, licensePropagationMs: 3_600_000 });
  try {
    const res = await create(upn);
    expect(res.status).toBe(202);
    problem(await api('DELETE', idPath(id)), 409, 'provisioning-running');
    problem(await api('POST', `${idPath(id)}/rotate-password`), 409, 'provisioning-running');
    expect((await api('POST', `${idPath(id)}/cancel`)).status).toBe(202);
    expect((await untilClosed(res.body.links.self)).status).toBe('cancelled');
    problem(await api('DELETE', idPath(id)), 409, 'not-provisioned');
    problem(await api('GET', `${idPath(id)}/deprovisioning`), 404, 'not-found');
  } finally {
    await e2e.stack.control.config({ syncDelayMs: 400, licensePropagationMs: 200 });
  }
  // A reader may look but not deprovision.
  problem(await api('DELETE', idPath(id), { token: e2e.reader }), 403);
});

it('a deprovisioning that failed is undone: the user stays provisioned, rotatable, and DELETE runs again', async () => {
  const upn = 'svc-e2e-deprov-undone@contoso.onmicrosoft.com';
  const id = `niu:contoso-prod:${upn}`;
  await provisioned(upn);
  const before = await capacity();
  // Key Vault refuses the secret's deletion (403, not retried): the steps before it are undone.
  await e2e.stack.control.faults([{ service: 'keyvault', method: 'DELETE', status: 403, count: 1 }]);
  const res = await api('DELETE', idPath(id));
  expect(res.status).toBe(202);
  const failed = await untilClosed(res.headers.get('location')!);
  expect(failed.status).toBe('failed');
  expect(failed.error?.type).toBe('permission-denied');
  expect((await capacity()).used).toBe(before.used);

  const rotation = await api('POST', `${idPath(id)}/rotate-password`);
  expect(rotation.status).toBe(202);
  expect((await untilClosed(rotation.headers.get('location')!)).status).toBe('succeeded');
  const again = await api('DELETE', idPath(id));
  expect(again.status).toBe(202);
  expect((await untilClosed(again.headers.get('location')!)).status).toBe('succeeded');
  expect((await capacity()).used).toBe(before.used - 1);
});

it('rotate-password: 202 with the versionless secret id; the rotation ends with the new version, the password changed', async () => {
  const upn = 'svc-e2e-rotate@contoso.onmicrosoft.com';
  const id = `niu:contoso-prod:${upn}`;
  await provisioned(upn);
  const changedBefore = (await e2e.stack.control.state()).users.find(
    (u) => u.userPrincipalName === upn,
  )!.lastPasswordChangeDateTime;
  const before = await vault().getSecret(secretOf(upn));

  const res = await api<{ passwordSecretId: string; status: string }>('POST', `${idPath(id)}/rotate-password`);
  expect(res.status).toBe(202);
  expect(res.body.passwordSecretId).toBe(`${e2e.stack.sandbox.url}/secrets/${secretOf(upn)}`);
  const location = res.headers.get('location')!;
  expect(location).toBe(`${e2e.stack.apiUrl}${idPath(id)}/password-rotation`);
  const doc = await eventually(async () => {
    const r = await call<RotationStatus>(location, 'GET', '', { token: e2e.reader });
    expect(r.status).toBe(200);
    return r.body.status === 'running' ? undefined : r.body;
  }, 60_000);
  expect(doc.status).toBe('succeeded');
  expect(doc.steps.map((s) => [s.name, s.status])).toEqual([
    ['lock-account', 'completed'],
    ['rotate-password', 'completed'],
  ]);
  const latest = await vault().getSecret(secretOf(upn));
  expect(doc.result?.passwordSecretId).toBe(latest.properties.id);
  expect(latest.properties.id).not.toBe(before.properties.id);
  expect(latest.value).not.toBe(before.value);
  const changedAfter = (await e2e.stack.control.state()).users.find(
    (u) => u.userPrincipalName === upn,
  )!.lastPasswordChangeDateTime;
  expect(String(changedAfter) > String(changedBefore)).toBe(true);
  // Never in the API's answers.
  expect(JSON.stringify(doc)).not.toContain(latest.value!);
});
