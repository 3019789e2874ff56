// The baseline of benchmark 4: the provisioning steps as a plain script would run them, one
// user after another, calling the service's own activity functions (same clients, same HTTP
// calls) directly, without Temporal: read capacity, create, license, force the sync and look
// every second until the user appears, set mode 4, remove the license, settle, re-read.
import { randomUUID } from 'node:crypto';
import { createActivities } from '../activities';
import { loadConfig } from '../config';
import { PROVISION_TIMING } from './provision-time';
import type { BenchSandbox } from './stack';
import { DOMAIN, round, sleep, SKU } from './stats';

export interface ScriptResult {
  users: number;
  seconds: number;
  perUserSeconds: number;
}

export async function provisionAsScript(sandbox: BenchSandbox, users: number): Promise<ScriptResult> {
  const config = loadConfig({ ...process.env, NIU_SANDBOX: 'true', SANDBOX_URL: sandbox.url, KEYVAULT_URL: '' });
  // No Temporal client: the entity activities are not called.
  const a = createActivities(config, {
    client: undefined as never,
  });
  const environment = 'contoso-test';
  const stamp = Date.now().toString(36);
  const t0 = performance.now();
  for (let i = 0; i < users; i++) {
    const upn = `bench-script-${stamp}-${i}@${DOMAIN}`;
    const capacity = await a.readEnvironmentCapacity({ environment });
    if (capacity.used >= capacity.limit) throw new Error('script: no capacity left');
    const account = await a.createEntraUser({
      environment,
      userPrincipalName: upn,
      displayName: `Script ${i}`,
      usageLocation: 'US',
      requestTag: randomUUID().replace(/-/g, '').slice(0, 16),
      requestId: `script:${upn}`,
    });
    const entraObjectId = account.entraObjectId;
    await a.assignLicense({ entraObjectId, licenseSku: SKU });
    let found = null;
    while (!found) {
      await a.addUser({ environment, entraObjectId });
      found = await a.findSystemUser({ environment, entraObjectId });
      if (!found) await sleep(PROVISION_TIMING.forceSyncIntervalMs);
    }
    await a.setAccessMode({ environment, systemUserId: found.systemUserId, accessMode: 4 });
    await a.removeLicense({ entraObjectId, licenseSku: SKU });
    await sleep(PROVISION_TIMING.verifySettleMs);
    const now = await a.readSystemUser({ environment, systemUserId: found.systemUserId });
    if (now.accessMode !== 4) throw new Error(`script: ${upn} ended in access mode ${now.accessMode}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { users, seconds: round(seconds, 1), perUserSeconds: round(seconds / users, 1) };
}
