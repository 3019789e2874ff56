// The command-line client (cli/main.ts, `npm run request`) as a child process against a stack of
// its own: create follows the steps live, status and list, and its exit codes.
import { STEP_NAMES } from '../../workflows/types';
import { DEPROVISION_STEP_NAMES } from '../../workflows/lifecycle-types';
import { useApiStack } from '../helpers/api-stack';
import { runCli } from '../helpers/cli';

const SKU = 'DYN365_ENTERPRISE_PLAN1';
const e2e = useApiStack({
  name: 'cli',
  env: (sandbox) => ({ KEYVAULT_URL: sandbox.url, KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true' }),
});

describe('command-line client', () => {
  const cli = (args: string[]) => runCli(e2e.stack.env, args);

  it('create shows the steps live and exits 0 on success; status and list work', async () => {
    const upn = 'svc-e2e-cli@contoso.onmicrosoft.com';
    const run = await cli(['create', '--environment', 'contoso-prod', '--upn', upn, '--display-name', 'ERP (CLI)']);
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/accepted: niu:contoso-prod:svc-e2e-cli@contoso\.onmicrosoft\.com/);
    for (const step of STEP_NAMES) expect(run.stdout).toMatch(new RegExp(`${step}\\s+(completed|skipped)`));
    expect(run.stdout).toMatch(/succeeded: svc-e2e-cli@contoso\.onmicrosoft\.com/);
    // Progress lines appear in step order.
    const order = STEP_NAMES.map((s) => run.stdout.indexOf(`${s}`));
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    const status = await cli(['status', `niu:contoso-prod:${upn}`]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/succeeded/);
    const list = await cli(['list', '--environment', 'contoso-prod', '--all']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`niu:contoso-prod:${upn}`);
  });

  it('exits non-zero when the request fails, and on API errors', async () => {
    await e2e.stack.control.config({ skus: { [SKU]: { seats: 0 } } });
    try {
      const run = await cli([
        'create',
        '--environment',
        'contoso-prod',
        '--upn',
        'svc-e2e-cli-fail@contoso.onmicrosoft.com',
        '--display-name',
        'No seats',
      ]);
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/failed: license-unavailable/);
    } finally {
      await e2e.stack.control.config({ skus: { [SKU]: { seats: 25 } } });
    }
    const bad = await cli([
      'create',
      '--environment',
      'nowhere',
      '--upn',
      'svc@contoso.onmicrosoft.com',
      '--display-name',
      'x',
    ]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/422/);
    const usage = await cli(['create', '--environment', 'contoso-prod']);
    expect(usage.code).toBe(2);
  });

  it('rotate-password and deprovision follow their steps live; deprovision --delete-account deletes the account', async () => {
    const upn = 'svc-e2e-cli-lifecycle@contoso.onmicrosoft.com';
    const id = `niu:contoso-prod:${upn}`;
    const created = await cli(['create', '--environment', 'contoso-prod', '--upn', upn, '--display-name', 'Lifecycle']);
    expect(created.code).toBe(0);

    const rotated = await cli(['rotate-password', id]);
    expect(rotated.stderr).toBe('');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(
      /secret https:\/\/\S+\/secrets\/niu-svc-e2e-cli-lifecycle-contoso-onmicrosoft-com\n/,
    );
    expect(rotated.stdout).toMatch(/rotate-password\s+completed/);
    expect(rotated.stdout).toMatch(
      /passwordSecretId\s+https:\/\/\S+\/secrets\/niu-svc-e2e-cli-lifecycle-contoso-onmicrosoft-com\/[0-9a-f]{32}/,
    );

    const run = await cli(['deprovision', id, '--delete-account']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`deprovisioning: ${id}`);
    for (const step of DEPROVISION_STEP_NAMES) expect(run.stdout).toMatch(new RegExp(`${step}\\s+(completed|skipped)`));
    const order = DEPROVISION_STEP_NAMES.map((step) => run.stdout.indexOf(step));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(run.stdout).toMatch(/accountDeleted\s+true/);
    const state = await e2e.stack.control.state();
    expect(state.users.some((u) => u.userPrincipalName === upn)).toBe(false);

    const again = await cli(['deprovision', id]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`already deprovisioned: ${id}`);
    const refused = await cli(['rotate-password', id]);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/409/);
    expect((await cli(['deprovision'])).code).toBe(2);
  });
});
