// The preflight: every prerequisite of provisioning, checked live with the worker's configuration
// and identity, each answering {name, ok, detail, fix}. One module for both callers: the
// `checkReadiness` activity (the API's GET /v1/environments/{environment}/readiness, through the
// short workflow workflows/readiness.ts) and `npm run doctor` (scripts/doctor.ts, in-process).
//
// Tenant-wide: a token for Graph, the admin API and Key Vault (if configured); the Graph
// permissions (the token's `roles`) and the directory role (its `wids`); the management-application
// registration; Key Vault read and write. Per environment: a Dataverse token; the environment in
// the admin API; its security group; the application user, its security role and the limit
// (preflight-dataverse.ts). A check whose prerequisite failed is not run (its calls would fail for
// the same reason): the failed check's detail names it (preflight-run.ts).
import { SecretClient } from '@azure/keyvault-secrets';
import type { Config, EnvironmentConfig } from '../config';
import type { PreflightCheck, PreflightReport } from '../workflows/types';
import { callSignal } from './cancellation';
import { environmentOf } from './environments';
import { requestJson } from './http';
import { vaultCredential } from './keyvault';
import { dataverseChecks } from './preflight-dataverse';
import { GRAPH_NEEDS, GROUP_MEMBERS_NEED, KEY_VAULT_PROBE, PASSWORD_ROLES, type GraphNeed } from './preflight-needs';
import {
  RETRY,
  Run,
  appIdOf,
  describe,
  fail,
  pass,
  statusOf,
  stringList,
  typeOf,
  type Outcome,
  type TokenResult,
} from './preflight-run';

/** Runs the tenant-wide checks and those of `environment` (or of every configured one). */
export async function runPreflight(config: Config, options: { environment?: string } = {}): Promise<PreflightReport> {
  const environments = options.environment ? [environmentOf(config, options.environment)] : config.environments;
  const run = new Run(config);
  const m = config.microsoft;
  const graph = run.token('token-graph', null, m.graphAudience, 'Microsoft Graph');
  const managementApp = managementAppCheck(
    run,
    run.token('token-admin-api', null, m.powerPlatformAudience, 'the Power Platform admin API'),
  );
  await Promise.all([
    graphChecks(run, graph),
    managementApp,
    keyVaultCheck(run),
    ...environments.map((env) => environmentChecks(run, env, graph, managementApp)),
  ]);
  return run.report(environments);
}

/** The `checkReadiness` activity: the checks of one environment, for the API. */
export function preflightActivities(config: Config) {
  return {
    checkReadiness: (input: { environment: string }): Promise<PreflightReport> =>
      runPreflight(config, { environment: input.environment }),
  };
}

/** The Graph permissions and the directory role, read from the Graph token's `roles` and `wids`. */
async function graphChecks(run: Run, graphToken: Promise<TokenResult>): Promise<void> {
  const graph = await graphToken;
  if (!graph.token) {
    run.hold(graph.check, ...GRAPH_NEEDS.map((n) => n.name), 'directory-role');
    return;
  }
  const roles = stringList(graph.claims.roles);
  for (const need of GRAPH_NEEDS) run.add(need.name, null, permissionOutcome(run, need, roles));
  const held = stringList(graph.claims.wids).flatMap((id) => (PASSWORD_ROLES[id] ? [PASSWORD_ROLES[id]] : []));
  run.add(
    'directory-role',
    null,
    held.length > 0
      ? pass(
          `directory role ${held.join(', ')} (in the Graph token's wids): may set the password of an existing account`,
        )
      : fail(
          `no directory role that may set the password of an existing account (User Administrator, Privileged ` +
            `Authentication Administrator, Global Administrator) in the Graph token's wids: a retried creation that finds ` +
            `the account it created cannot give it a fresh password`,
          run.fix.directoryRole(),
        ),
  );
}

function permissionOutcome(run: Run, need: GraphNeed, roles: string[]): Outcome {
  const granted = need.anyOf.filter((p) => roles.includes(p));
  return granted.length > 0
    ? pass(`${granted.join(', ')} (in the Graph token's roles): may ${need.use}`)
    : fail(
        `none of ${need.anyOf.join(', ')} in the Graph token's roles (${roles.join(', ') || 'none'}): cannot ${need.use}`,
        run.fix.graphPermission(need.grant),
      );
}

/**
 * The management-application registration: the admin API lists the environments to this
 * application. Resolves to the check the admin API's other checks depend on (this one, or the
 * failed token check).
 */
async function managementAppCheck(run: Run, adminToken: Promise<TokenResult>): Promise<PreflightCheck> {
  const token = await adminToken;
  if (!token.token) {
    run.hold(token.check, 'management-app');
    return token.check;
  }
  return run.check('management-app', null, async () => {
    try {
      const listed = await run.admin.listEnvironments();
      return pass(`the admin API answers app ${appIdOf(token.claims)}: it lists ${listed.length} environment(s)`);
    } catch (err) {
      if (typeOf(err) !== 'management-app-not-registered') throw err;
      return fail(
        `the admin API refuses app ${appIdOf(token.claims)}, which is not a registered management application`,
        run.fix.managementApp(),
      );
    }
  });
}

/** Key Vault, when one is configured: a probe secret written, then read back. */
async function keyVaultCheck(run: Run): Promise<void> {
  const m = run.config.microsoft;
  const vault = m.keyVaultUrl;
  if (!vault) return;
  const token = await run.token('token-key-vault', null, `https://${m.keyVaultDomain}`, `Key Vault (${vault})`);
  if (!token.token) {
    run.hold(token.check, 'key-vault');
    return;
  }
  await run.check('key-vault', null, async () => {
    const client = new SecretClient(vault, vaultCredential(run.tokens.credential), {
      disableChallengeResourceVerification: m.keyVaultDisableChallengeResourceVerification,
      retryOptions: { maxRetries: 0 },
    });
    const value = `probe ${new Date().toISOString()}`;
    try {
      const written = await client.setSecret(KEY_VAULT_PROBE, value, {
        contentType: 'text/plain',
        tags: { purpose: 'noninteractive-users preflight' },
        abortSignal: callSignal(run.timeoutMs()),
      });
      const version = written.properties.version;
      const read = await client.getSecret(KEY_VAULT_PROBE, { version, abortSignal: callSignal(run.timeoutMs()) });
      if (read.value !== value) return fail(`secret ${KEY_VAULT_PROBE} in ${vault} read back another value`, RETRY);
      return pass(`wrote secret ${KEY_VAULT_PROBE} in ${vault} (version ${version}) and read it back`);
    } catch (err) {
      const status = statusOf(err);
      if (status !== 401 && status !== 403) throw err;
      return fail(`${vault} refuses the worker: ${describe(err)}`, run.fix.keyVault(vault));
    }
  });
}

/** One environment's checks: the admin API's view of it, its security group, Dataverse. */
async function environmentChecks(
  run: Run,
  env: EnvironmentConfig,
  graph: Promise<TokenResult>,
  managementApp: Promise<PreflightCheck>,
): Promise<void> {
  /** The environment's group as the admin API shows it, or the failed check that keeps it unknown. */
  const admin = async (): Promise<{ groupId: string | null; blocking: PreflightCheck | null }> => {
    const registered = await managementApp;
    if (!registered.ok) {
      run.hold(registered, 'admin-environment');
      return { groupId: null, blocking: registered };
    }
    let groupId: string | null = null;
    const check = await run.check('admin-environment', env.name, async () => {
      try {
        const found = await run.admin.environment(env.name);
        groupId = found.securityGroupId;
        const how = env.powerPlatformEnvironmentId ? 'configured' : 'found from the Dataverse URL';
        return pass(`Power Platform environment ${found.id} (${how}); security group: ${groupId ?? 'none'}`);
      } catch (err) {
        return adminEnvironmentFailure(env, err);
      }
    });
    return { groupId, blocking: check.ok ? null : check };
  };
  const group = async () => {
    const read = await admin();
    // A group named in the file needs no admin API; otherwise the group is the admin API's.
    if (env.securityGroupId) return securityGroupCheck(run, env, env.securityGroupId, true, graph);
    if (!read.blocking) return securityGroupCheck(run, env, read.groupId, false, graph);
    run.hold(read.blocking, 'security-group');
  };
  await Promise.all([group(), dataverseChecks(run, env)]);
}

function adminEnvironmentFailure(env: EnvironmentConfig, err: unknown): Outcome {
  if (typeOf(err) === 'unknown-environment') {
    return fail(
      describe(err).replace(/: correct the dataverseUrl.*$/, ''),
      `Correct the dataverseUrl of "${env.name}" in the environments file (ENVIRONMENTS_FILE), or set its ` +
        `powerPlatformEnvironmentId (the environment's page in the Power Platform admin center, or pac admin list).`,
    );
  }
  if (env.powerPlatformEnvironmentId && statusOf(err) === 404) {
    return fail(
      `the admin API has no environment ${env.powerPlatformEnvironmentId} (the powerPlatformEnvironmentId of "${env.name}")`,
      `Correct powerPlatformEnvironmentId of "${env.name}" in the environments file, or remove it: the worker then ` +
        `finds the id from the Dataverse URL.`,
    );
  }
  throw err;
}

interface GraphGroup {
  displayName?: string;
  mailEnabled?: boolean;
  groupTypes?: string[];
}

/** The environment's security group exists and the worker may add members to it (no group: nothing to add to). */
async function securityGroupCheck(
  run: Run,
  env: EnvironmentConfig,
  groupId: string | null,
  configured: boolean,
  graphToken: Promise<TokenResult>,
): Promise<void> {
  if (!groupId) {
    run.add('security-group', env.name, pass('not restricted to a security group: every licensed account syncs'));
    return;
  }
  const graph = await graphToken;
  if (!graph.token) {
    run.hold(graph.check, 'security-group');
    return;
  }
  const source = configured ? 'securityGroupId in the environments file' : 'the admin API';
  await run.check('security-group', env.name, async () => {
    const base = run.config.microsoft.graphBaseUrl.replace(/\/+$/, '');
    let group: GraphGroup | null;
    try {
      const url = `${base}/v1.0/groups/${encodeURIComponent(groupId)}?$select=id,displayName,mailEnabled,groupTypes`;
      const request = { service: 'graph', method: 'GET', url, token: graph.token, timeoutMs: run.timeoutMs() } as const;
      group = (await requestJson<GraphGroup>(request)).body;
    } catch (err) {
      if (statusOf(err) === 404) {
        const detail = `group ${groupId} (from ${source}) does not exist in the tenant`;
        return fail(detail, run.fix.securityGroup(env.name, configured));
      }
      if (statusOf(err) !== 403) throw err;
      group = null; // no group permission to read it with: the permission outcome below says so
    }
    const named = `group ${group?.displayName ? `'${group.displayName}' ` : ''}${groupId} (from ${source})`;
    const permission = permissionOutcome(run, GROUP_MEMBERS_NEED, stringList(graph.claims.roles));
    if (!permission.ok) return fail(`restricted to ${named}; ${permission.detail}`, permission.fix!);
    if (group?.groupTypes?.includes('DynamicMembership') || group?.mailEnabled) {
      const kind = group.mailEnabled ? 'mail-enabled' : 'a dynamic group';
      return fail(
        `restricted to ${named}, which is ${kind}: Graph cannot add members to it`,
        run.fix.groupKind(env.name),
      );
    }
    return pass(`restricted to ${named}; ${permission.detail}`);
  });
}
