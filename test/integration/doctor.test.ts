// The doctor (scripts/doctor.ts) and its checks (activities/preflight.ts) against the sandbox, in
// this process with the worker's configuration on the dev stack's defaults (both seeded
// environments, the sandbox's vault): every check passes; then each prerequisite is taken away
// in turn through the sandbox (test/helpers/preflight.ts) and exactly its check fails, naming a
// fix, while the others pass. Once as a process: `npm run doctor`'s entry, its table, its JSON and
// its exit codes, and nothing secret in its output.
import { loadConfig, type Config } from '../../config';
import { runPreflight } from '../../activities/preflight';
import { ENVIRONMENT_CHECKS, TENANT_CHECKS } from '../../activities/preflight-run';
import { doctor } from '../../scripts/doctor';
import { spawnEntry } from '../helpers/processes';
import { useSandbox } from '../helpers/lifecycle';
import { ALTERNATIVES, PROD, REMOVALS, STRAY, TEST, failing, strayEnvironmentsFile } from '../helpers/preflight';

const { sandbox, control } = useSandbox({ reset: true });

/** The worker's configuration on the sandbox, as the dev stack sets it (KEYVAULT_URL: the sandbox's vault). */
function workerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { NIU_SANDBOX: 'true', SANDBOX_URL: sandbox.url, KEYVAULT_URL: sandbox.url, ...extra };
}
const workerConfig = (extra: Record<string, string> = {}): Config =>
  loadConfig({ ...process.env, ...workerEnv(extra) }, 'worker');

describe('the checks in-process (the doctor)', () => {
  test('with the dev stack defaults every check passes, tenant-wide then per environment, in order', async () => {
    const report = await runPreflight(workerConfig());
    expect(failing(report.checks)).toEqual([]);
    expect(report.ready).toBe(true);
    expect(report.checks.map((c) => (c.environment ? `${c.name}@${c.environment}` : c.name))).toEqual([
      ...TENANT_CHECKS,
      ...ENVIRONMENT_CHECKS.map((n) => `${n}@${PROD}`),
      ...ENVIRONMENT_CHECKS.map((n) => `${n}@${TEST}`),
    ]);
    expect(report.checks).toHaveLength(9 + 2 * 6);
    for (const check of report.checks) expect(check.fix).toBeNull();
    const detail = (name: string, env: string | null = null) =>
      report.checks.find((c) => c.name === name && c.environment === env)!.detail;
    expect(detail('non-interactive-limit', PROD)).toMatch(/used 0 \/ limit 7/);
    expect(detail('dataverse-security-role', PROD)).toMatch(/System Administrator.*prvWriteUser at Global/);
    expect(detail('key-vault')).toMatch(/niu-preflight-probe/);
    // The probe is the only secret it leaves, a version per run.
    expect((await control.state()).secrets).toEqual(['niu-preflight-probe']);
  });

  test('one environment only: the tenant-wide checks and its own', async () => {
    const report = await runPreflight(workerConfig(), { environment: TEST });
    expect(report.checks.map((c) => c.environment ?? 'tenant')).toEqual([
      ...TENANT_CHECKS.map(() => 'tenant'),
      ...ENVIRONMENT_CHECKS.map(() => TEST),
    ]);
    expect(report.ready).toBe(true);
  });

  test.each(REMOVALS.map((r) => [r.removes, r] as const))('without %s exactly its check fails', async (_, removal) => {
    await removal.arrange(control, sandbox);
    const config = removal.stray
      ? workerConfig({ ENVIRONMENTS_FILE: strayEnvironmentsFile(sandbox.url) })
      : workerConfig();
    const report = await runPreflight(config);
    expect(failing(report.checks)).toEqual(removal.fails);
    expect(report.ready).toBe(false);
    for (const failed of report.checks.filter((c) => !c.ok)) {
      expect(failed.fix).toEqual(expect.any(String));
      for (const held of removal.notRun ?? []) expect(failed.detail).toContain(held);
    }
    // What it held back is not listed at all; everything else ran and passed.
    const held = (removal.notRun ?? []).map((n) => `${n}@${removal.stray ? STRAY : PROD}`);
    const listed = report.checks.map((c) => (c.environment ? `${c.name}@${c.environment}` : c.name));
    for (const name of held) expect(listed).not.toContain(name);
  });

  test.each(ALTERNATIVES.map((a) => [a.uses, a] as const))('%s: every check passes', async (_, alternative) => {
    await alternative.arrange(control);
    const report = await runPreflight(workerConfig());
    expect(failing(report.checks)).toEqual([]);
  });

  test('the fixes name what to grant and where, with the worker’s app and service principal', async () => {
    await control.config({
      clients: { 'provisioner-client': { permissions: [], directoryRoles: [], managementApp: false } },
    });
    const report = await runPreflight(workerConfig(), { environment: PROD });
    const fix = (name: string) => report.checks.find((c) => c.name === name)!.fix!;
    expect(fix('graph-permission-users')).toMatch(/Microsoft Graph application permission User\.ReadWrite\.All/);
    expect(fix('graph-permission-users')).toContain('App registrations → provisioner-client → API permissions');
    expect(fix('graph-permission-license-assignment')).toMatch(/LicenseAssignment\.ReadWrite\.All/);
    expect(fix('graph-permission-subscribed-skus')).toMatch(/LicenseAssignment\.Read\.All/);
    expect(fix('directory-role')).toMatch(/User Administrator.*RoleDefinitionId fe930be7-5e62-47db-91af-98c3a49a38b1/);
    expect(fix('management-app')).toMatch(/pac admin application register --application-id provisioner-client/);
    expect(report.checks.find((c) => c.name === 'token-graph')!.detail).toMatch(/as app provisioner-client/);
  });

  test('a refused credential fails every token check, and holds back every check that needs a token', async () => {
    const report = await runPreflight(workerConfig({ AZURE_CLIENT_SECRET: 'not-the-secret' }));
    expect(failing(report.checks)).toEqual([
      'token-graph',
      'token-admin-api',
      'token-key-vault',
      `token-dataverse@${PROD}`,
      `token-dataverse@${TEST}`,
    ]);
    expect(report.checks).toHaveLength(5);
    const graph = report.checks[0]!;
    expect(graph.detail).toMatch(/AADSTS7000215/);
    expect(graph.detail).toMatch(/not checked until this passes: graph-permission-users, .*directory-role/);
    expect(graph.fix).toMatch(/client-secret credential/);
    expect(JSON.stringify(report)).not.toContain('not-the-secret');
  });

  test('a security group in the environments file that does not exist fails its check', async () => {
    const config = workerConfig();
    config.environments = config.environments
      .filter((e) => e.name === PROD)
      .map((e) => ({ ...e, securityGroupId: '00000000-0000-4000-8000-000000000001' }));
    const report = await runPreflight(config);
    expect(failing(report.checks)).toEqual([`security-group@${PROD}`]);
    expect(report.checks.find((c) => !c.ok)!.detail).toMatch(/does not exist in the tenant/);
  });
});

describe('the doctor', () => {
  test('in-process: table and JSON, exit codes; an unknown environment or option is a usage error', async () => {
    const out: string[] = [];
    const write = (text: string) => out.push(text);
    const config = workerConfig();
    expect(await doctor([], { config, write, width: 120 })).toBe(0);
    expect(out.join('')).toMatch(/✓ graph-permission-users/);
    expect(out.join('')).toMatch(/all 21 checks passed/);
    out.length = 0;
    await control.config({ clients: { 'provisioner-client': { directoryRoles: [] } } });
    expect(await doctor(['--environment', TEST, '--json'], { config, write })).toBe(1);
    const report = JSON.parse(out.join('')) as {
      ready: boolean;
      checks: { name: string; environment: string | null }[];
    };
    expect(report.ready).toBe(false);
    expect(new Set(report.checks.map((c) => c.environment))).toEqual(new Set([null, TEST]));
    out.length = 0;
    expect(await doctor(['--environment', 'fabrikam'], { config, write })).toBe(2);
    expect(out.join('')).toMatch(/unknown environment "fabrikam" \(configured: contoso-prod, contoso-test\)/);
    expect(await doctor(['--verbose'], { config, write })).toBe(2);
  });

  test('as a process (npm run doctor): the table names the failed check and its fix, exits 1, prints nothing secret', async () => {
    await control.config({ clients: { 'provisioner-client': { managementApp: false } } });
    const run = spawnEntry('scripts/doctor.ts', workerEnv(), ['--environment', PROD]);
    const exit = await run.exited;
    const output = run.output();
    expect({ exit: exit.code, output }).toEqual({ exit: 1, output: expect.stringMatching(/✗ management-app/) });
    const text = output.replace(/\s+/g, ' '); // the table wraps long lines
    expect(text).toMatch(/fix: Register the worker's application provisioner-client as a Power Platform management/);
    expect(text).toMatch(/not checked until this passes: admin-environment, security-group/);
    expect(output).toMatch(/✓ dataverse-security-role/);
    // 9 tenant-wide checks and 4 of contoso-prod's (admin-environment and security-group held back).
    expect(output).toMatch(/1 of 13 checks failed: management-app\n$/);
    // No secret, no token (JWTs start with eyJ).
    expect(output).not.toMatch(/provisioner-secret|eyJ[A-Za-z0-9_-]{10,}/);
  });
});
