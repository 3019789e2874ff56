// One preflight run (activities/preflight.ts): its own token source, its deadline, the checks
// made, and the checks each failed one held back; plus the helpers every check uses.
//
// The token source is new for each run, with an empty cache: what a check reads from a token
// (Graph `roles` and `wids`) is what the tenant grants now, not what a token the worker cached an
// hour ago says. Every call is bounded (CALL_MS, and BUDGET_MS for the whole run), so a service
// that does not answer fails a check; the run never hangs.
import type { Config, EnvironmentConfig } from '../config';
import type { PreflightCheck, PreflightReport } from '../workflows/types';
import { adminEnvironments, type AdminEnvironments } from './admin-environments';
import { callSignal } from './cancellation';
import { createTokenSource, type TokenSource } from './credential';
import { GRAPH_NEEDS, fixes, type Fixes, type Principal } from './preflight-needs';

/** Longest wait for one call, and for the whole run. */
export const CALL_MS = 8_000;
export const BUDGET_MS = 25_000;

/** Every check, in the order they are listed: the tenant-wide ones (Key Vault's with a vault), then each environment's. */
export const TENANT_CHECKS = [
  'token-graph',
  'token-admin-api',
  'token-key-vault',
  ...GRAPH_NEEDS.map((n) => n.name),
  'directory-role',
  'management-app',
  'key-vault',
];
export const ENVIRONMENT_CHECKS = [
  'token-dataverse',
  'admin-environment',
  'security-group',
  'dataverse-application-user',
  'dataverse-security-role',
  'non-interactive-limit',
];
const ORDER = [...TENANT_CHECKS, ...ENVIRONMENT_CHECKS];

export interface Outcome {
  ok: boolean;
  detail: string;
  fix: string | null;
}
export const pass = (detail: string): Outcome => ({ ok: true, detail, fix: null });
export const fail = (detail: string, fix: string): Outcome => ({ ok: false, detail, fix });

/** A token and its claims, or none; `check` is its token check. */
export type TokenResult = { check: PreflightCheck } & (
  { token: string; claims: Record<string, unknown> } | { token: null; claims: null }
);

export class Run {
  readonly tokens: TokenSource;
  readonly admin: AdminEnvironments;
  private readonly checks: PreflightCheck[] = [];
  private readonly held = new Map<PreflightCheck, Set<string>>();
  private readonly deadline = Date.now() + BUDGET_MS;
  private readonly tokenRequests = new Map<string, Promise<TokenResult>>();
  /** The worker as its first token names it (a managed identity has no configured client id). */
  private principal: Principal | null = null;

  constructor(readonly config: Config) {
    this.tokens = createTokenSource(config);
    this.admin = adminEnvironments(config, this.tokens);
  }

  /** The fix texts, naming the worker's app and service principal. */
  get fix(): Fixes {
    return fixes(
      this.config,
      this.principal ?? { appId: this.config.microsoft.clientId ?? '<client id>', objectId: '<object id>' },
    );
  }

  /** How long the next call may take. */
  timeoutMs(): number {
    return Math.max(1, Math.min(CALL_MS, this.deadline - Date.now()));
  }

  add(name: string, environment: string | null, outcome: Outcome): PreflightCheck {
    const check = { name, environment, ...outcome };
    this.checks.push(check);
    return check;
  }

  /** Runs `fn` as the check `name`; an error it does not turn into an outcome fails the check. */
  async check(name: string, environment: string | null, fn: () => Promise<Outcome>): Promise<PreflightCheck> {
    let outcome: Outcome;
    try {
      outcome = await fn();
    } catch (err) {
      outcome = fail(describe(err), RETRY);
    }
    return this.add(name, environment, outcome);
  }

  /** `names` are not run because `by` failed: its detail will say so. */
  hold(by: PreflightCheck, ...names: string[]): void {
    const set = this.held.get(by) ?? new Set<string>();
    names.forEach((n) => set.add(n));
    this.held.set(by, set);
  }

  /** A token for `audience`, once per run, recorded as the check `name`. */
  token(name: string, environment: string | null, audience: string, what: string): Promise<TokenResult> {
    const key = `${name} ${environment}`;
    let request = this.tokenRequests.get(key);
    if (!request) {
      request = this.requestToken(name, environment, audience, what);
      this.tokenRequests.set(key, request);
    }
    return request;
  }

  private async requestToken(
    name: string,
    environment: string | null,
    audience: string,
    what: string,
  ): Promise<TokenResult> {
    const scope = `${audience.replace(/\/+$/, '')}/.default`;
    try {
      const got = await this.tokens.credential.getToken(scope, { abortSignal: callSignal(this.timeoutMs()) });
      if (!got) throw new Error('the credential returned no token');
      const claims = jwtClaims(got.token);
      this.principal ??= { appId: appIdOf(claims), objectId: String(claims.oid ?? '<object id>') };
      const check = this.add(name, environment, pass(`a token for ${what} (scope ${scope}) as app ${appIdOf(claims)}`));
      return { check, token: got.token, claims };
    } catch (err) {
      const outcome = fail(
        `no token for ${what} (scope ${scope}): ${describe(err)}`,
        tokenFix(this.config, err, audience),
      );
      return { check: this.add(name, environment, outcome), token: null, claims: null };
    }
  }

  report(environments: EnvironmentConfig[]): PreflightReport {
    for (const [check, names] of this.held)
      check.detail += ` (not checked until this passes: ${[...names].join(', ')})`;
    const envIndex = (c: PreflightCheck) =>
      c.environment === null ? -1 : environments.findIndex((e) => e.name === c.environment);
    const checks = [...this.checks].sort(
      (a, b) => envIndex(a) - envIndex(b) || ORDER.indexOf(a.name) - ORDER.indexOf(b.name),
    );
    return { ready: checks.every((c) => c.ok), checks };
  }
}

export const RETRY =
  'Retry; if it keeps failing, check that the worker reaches the service (network, proxy, the endpoints in ' +
  'docs/configuration.md) and that the service is up.';

/** The HTTP status of a failure raised by requestJson (activities/errors.ts), or of an SDK's error. */
export function statusOf(err: unknown): number | undefined {
  const details = (err as { details?: { status?: number }[] }).details;
  return details?.[0]?.status ?? (err as { statusCode?: number }).statusCode;
}

/** The failure type requestJson's failures carry (activities/errors.ts classify). */
export function typeOf(err: unknown): string | undefined {
  return (err as { type?: string }).type;
}

/** A one-line description of an error (messages of the clients and services carry no token or secret). */
export function describe(err: unknown): string {
  const e = err as { name?: string; message?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${CALL_MS / 1000} s`;
  const line =
    String(e?.message ?? err)
      .split('\n')
      .find((l) => l.trim()) ?? 'failed';
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** The payload of a JWT, not verified: only to read what the tenant wrote into the worker's own token. */
function jwtClaims(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export function appIdOf(claims: Record<string, unknown>): string {
  return String(claims.appid ?? claims.azp ?? '<client id>');
}

function tokenFix(config: Config, err: unknown, audience: string): string {
  if (/AADSTS500011|resource principal/i.test(describe(err))) {
    return (
      `The tenant has no resource ${audience}: for Dataverse, correct the environment's dataverseUrl (its Environment URL ` +
      `in the Power Platform admin center); otherwise check AZURE_CLOUD and the audience variables (docs/configuration.md).`
    );
  }
  return (
    `Check the worker's ${config.microsoft.credential?.kind ?? ''} credential: AZURE_TENANT_ID, AZURE_CLIENT_ID and the ` +
    `secret (expired?), the certificate (uploaded to the app registration?), the federated credential (issuer, subject, ` +
    `audience) or the managed identity (docs/configuration.md); an AADSTS code in the detail names the cause.`
  );
}
