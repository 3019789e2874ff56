// The preflight's test cases, shared by the doctor's tests (in-process and as a process:
// test/integration/doctor.test.ts) and the readiness route's (test/e2e/readiness.test.ts): each
// prerequisite the sandbox can take away, how to take it away, and exactly which checks must then
// fail (`name`, or `name@environment`); plus the documented alternatives that must still pass.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sandboxEnvironments } from '../../config';
import type { PreflightCheck } from '../../workflows/types';
import { dataverseClient, type Sandbox, type SandboxControl } from './sandbox';

export const PROD = 'contoso-prod';
export const TEST = 'contoso-test';
/** An environment whose Dataverse URL (localhost, not the admin API's 127.0.0.1) no admin environment has. */
export const STRAY = 'contoso-stray';

const SEED_PERMISSIONS = [
  'User.ReadWrite.All',
  'LicenseAssignment.ReadWrite.All',
  'GroupMember.ReadWrite.All',
  'LicenseAssignment.Read.All',
];
const without = (...dropped: string[]) => SEED_PERMISSIONS.filter((p) => !dropped.includes(p));
const provisioner = (settings: Record<string, unknown>) => ({ clients: { 'provisioner-client': settings } });

/** The seeded group (sandbox/README.md), which no environment is restricted to until told. */
async function seedGroup(control: SandboxControl): Promise<string> {
  return (await control.state()).groups[0]!.id;
}

/** Takes the System Administrator role (its only one) from the provisioner's application user in `environment`. */
async function removeApplicationUserRole(sandbox: Sandbox, control: SandboxControl, environment: string) {
  const dataverse = dataverseClient(sandbox, environment);
  const { UserId } = await dataverse.callFunction<{ UserId: string }>('WhoAmI');
  const env = (await control.state()).environments[environment]!;
  for (const roleId of env.systemusers.find((s) => s.systemuserid === UserId)!.roles) {
    await dataverse.disassociate({
      collection: 'systemusers',
      primaryKey: UserId,
      relationshipName: 'systemuserroles_association',
      relatedKey: roleId,
    });
  }
}

export interface Removal {
  /** The prerequisite taken away. */
  removes: string;
  arrange(control: SandboxControl, sandbox: Sandbox): Promise<unknown>;
  /** The environment to check through the API (the doctor checks every configured one). */
  environment: string;
  /** Exactly the checks that fail: `name` (tenant-wide) or `name@environment`. */
  fails: string[];
  /** Checks held back by the failure (not run), named in the failed check's detail. */
  notRun?: string[];
  /** Needs the configuration with the stray environment. */
  stray?: boolean;
}

export const REMOVALS: Removal[] = [
  {
    removes: 'the Graph permission User.ReadWrite.All',
    arrange: (control) => control.config(provisioner({ permissions: without('User.ReadWrite.All') })),
    environment: PROD,
    fails: ['graph-permission-users'],
  },
  {
    removes: 'the Graph permission LicenseAssignment.Read.All (subscribedSkus)',
    arrange: (control) => control.config(provisioner({ permissions: without('LicenseAssignment.Read.All') })),
    environment: PROD,
    fails: ['graph-permission-subscribed-skus'],
  },
  {
    removes: 'the directory role User Administrator',
    arrange: (control) => control.config(provisioner({ directoryRoles: [] })),
    environment: PROD,
    fails: ['directory-role'],
  },
  {
    removes: 'the management-application registration',
    arrange: (control) => control.config(provisioner({ managementApp: false })),
    environment: PROD,
    fails: ['management-app'],
    notRun: ['admin-environment', 'security-group'],
  },
  {
    removes: `GroupMember.ReadWrite.All, with ${PROD} restricted to a security group`,
    arrange: async (control) =>
      control.config({
        ...provisioner({ permissions: without('GroupMember.ReadWrite.All') }),
        environments: { [PROD]: { securityGroupId: await seedGroup(control) } },
      }),
    environment: PROD,
    fails: [`security-group@${PROD}`],
  },
  {
    removes: `the security role of the application user in ${PROD}`,
    arrange: (control, sandbox) => removeApplicationUserRole(sandbox, control, PROD),
    environment: PROD,
    fails: [`dataverse-security-role@${PROD}`],
  },
  {
    removes: 'access to the Key Vault',
    arrange: (control) => control.config(provisioner({ keyVaultAccess: false })),
    environment: PROD,
    fails: ['key-vault'],
  },
  {
    removes: 'an admin API environment with the Dataverse URL of the environment',
    arrange: async () => undefined,
    environment: STRAY,
    fails: [`admin-environment@${STRAY}`],
    notRun: ['security-group'],
    stray: true,
  },
];

/** Alternatives Microsoft's tables (and the sandbox) accept: every check still passes. */
export const ALTERNATIVES: { uses: string; arrange(control: SandboxControl): Promise<unknown> }[] = [
  {
    uses: 'Organization.Read.All instead of LicenseAssignment.Read.All, and no LicenseAssignment.ReadWrite.All (User.ReadWrite.All assigns licenses)',
    arrange: (control) =>
      control.config(
        provisioner({
          permissions: [
            ...without('LicenseAssignment.Read.All', 'LicenseAssignment.ReadWrite.All'),
            'Organization.Read.All',
          ],
        }),
      ),
  },
  {
    uses: 'Global Administrator instead of User Administrator, Directory.ReadWrite.All for the group',
    arrange: async (control) =>
      control.config({
        ...provisioner({
          directoryRoles: ['Global Administrator'],
          permissions: [...without('GroupMember.ReadWrite.All'), 'Directory.ReadWrite.All'],
        }),
        environments: { [PROD]: { securityGroupId: await seedGroup(control) } },
      }),
  },
];

/** The failed checks of a report, as `name` (tenant-wide) or `name@environment`. */
export function failing(checks: Pick<PreflightCheck, 'name' | 'environment' | 'ok'>[]): string[] {
  return checks.filter((c) => !c.ok).map((c) => (c.environment ? `${c.name}@${c.environment}` : c.name));
}

/** An environments file with the sandbox's two environments and the stray one (its URL on localhost). */
export function strayEnvironmentsFile(sandboxUrl: string): string {
  const seeded = sandboxEnvironments(sandboxUrl).environments;
  const stray = {
    ...seeded[0]!,
    name: STRAY,
    dataverseUrl: seeded[0]!.dataverseUrl.replace('://127.0.0.1:', '://localhost:'),
  };
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'niu-preflight-')), 'environments.json');
  writeFileSync(file, JSON.stringify({ environments: [...seeded, stray] }));
  return file;
}
