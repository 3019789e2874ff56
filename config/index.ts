// The one configuration module, shared by the worker, the API, the sandbox and the scripts.
// Every setting comes from an environment variable declared in variables.ts (with its type,
// default and description) and is checked at start-up: a bad value, or outside the sandbox a
// setting the process needs and does not have (required.ts), stops the process with a message
// naming the variable.
import type { ProvisionTiming } from '../workflows/types';
import { codecConfig, type CodecConfig } from './codec';
import { readVariables, type Env } from './declare';
import { loadEnvironments, sandboxEnvironments, type EnvironmentConfig } from './environments';
import { ConfigError } from './errors';
import { checkCloud, microsoftConfig, type MicrosoftConfig } from './microsoft';
import { checkRequired, type Role } from './required';
import { VARIABLES } from './variables';

export { CLOUD_NAMES, CLOUDS, type CloudName } from './clouds';
export { parseCodec, type CodecConfig } from './codec';
export { noCredential, type CredentialSettings } from './credential';
export { parseEnvironments, sandboxEnvironments, type EnvironmentConfig } from './environments';
export { ConfigError } from './errors';
export type { MicrosoftConfig } from './microsoft';
export type { Role } from './required';
export { describeVariables, VARIABLES, type VariableDescription } from './variables';

export interface Config {
  dataDir: string;
  logLevel: string;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    /** Bound on connecting to Temporal, so callers get a 503 instead of a hang. */
    connectTimeoutMs: number;
  };
  api: {
    host: string;
    port: number;
    /** Public base URL used in Location headers and links (default http://host:port). */
    publicUrl: string;
    /** OpenID provider metadata URL used to verify bearer tokens. */
    /** Null only outside the sandbox in a process other than the API (required.ts). */
    openIdConfigUrl: string | null;
    /** The API's App ID URI, the `aud` of v1.0 tokens (null as openIdConfigUrl). */
    audience: string | null;
    /** The API app registration's client id, the `aud` of v2.0 tokens; null: v2.0 tokens are refused. */
    clientId: string | null;
    /** Rate limit per client per minute. */
    rateLimitPerMinute: number;
    /** Failed authentications (401) allowed per address per minute; then 429 until the minute ends. */
    authFailuresPerMinute: number;
    /**
     * Fastify's `trustProxy`: which proxies' X-Forwarded-For is believed for the caller's address
     * (the failure budget and the unauthenticated rate limit are per address). Off by default.
     */
    trustProxy: boolean | number | string[];
    /** Origins allowed by CORS (the Temporal UI, for the codec endpoint). */
    corsOrigins: string[];
  };
  microsoft: MicrosoftConfig;
  worker: {
    shutdownGraceMs: number;
    metricsPort: number;
    maxConcurrentActivities: number;
    /**
     * Workflows kept in the worker's cache (256). A bound trades memory for replays: without one
     * the SDK sizes the cache from the heap limit (about 2,000 here) and kept every parked run
     * (bench: 1,362 MB at 1,000 parked); but below the number of runs busy at once every workflow
     * task replays the history (bench: with 100, 200 requests at once took the worker twice the
     * CPU). Raise it together with the heap limit in worker/node-flags.ts (about 0.2 MB per run live).
     */
    maxCachedWorkflows: number;
    /** Prebuilt workflow bundle (webpack output) to load instead of bundling workflows/ at start. */
    workflowBundlePath: string | null;
  };
  /** The drift audit (workflows/audit.ts): its schedule and the password-expiring threshold. */
  audit: {
    intervalSeconds: number;
    passwordMaxAgeDays: number;
    passwordWarningDays: number;
  };
  sandbox: {
    /** NIU_SANDBOX=true: the sandbox's defaults apply (the dev stack, the tests, the benchmarks). */
    enabled: boolean;
    url: string;
    /** Interface the sandbox listens on (0.0.0.0 in a container). */
    host: string;
    port: number;
  };
  /**
   * Payload encryption (worker/codec.ts). Null: payloads are stored as plain JSON in Temporal
   * (development only; set CODEC_KEYS in every deployment).
   */
  codec: CodecConfig | null;
  environmentsFile: string;
  environments: EnvironmentConfig[];
  /**
   * Workflow timings the API passes to every request it starts (WORKFLOW_TIMING, a JSON object
   * of ProvisionTiming fields); null: the workflow's defaults. Demos, fault tests and benchmarks
   * shorten the waits of an API that runs as its own process with this.
   */
  workflowTiming: Partial<ProvisionTiming> | null;
}

/**
 * The configuration of `role`'s process (required.ts: what it needs outside the sandbox; `all`,
 * the default, is the worker's and the API's needs together).
 */
export function loadConfig(env: Env = process.env, role: Role = 'all'): Config {
  const sandbox = readVariables({ NIU_SANDBOX: VARIABLES.NIU_SANDBOX }, env).NIU_SANDBOX;
  const v = readVariables(VARIABLES, env, { sandbox });
  if (!sandbox) checkRequired(role, v);
  const microsoft = microsoftConfig(v, sandbox);
  // No file: on the sandbox its seeded environments at its URL; elsewhere none (required.ts).
  const environments = v.ENVIRONMENTS_FILE
    ? loadEnvironments(v.ENVIRONMENTS_FILE)
    : sandbox
      ? sandboxEnvironments(v.SANDBOX_URL).environments
      : [];
  if (!sandbox) checkCloud(microsoft, environments, v.ENVIRONMENTS_FILE ?? '');
  return {
    dataDir: v.DATA_DIR,
    logLevel: v.LOG_LEVEL,
    temporal: {
      address: v.TEMPORAL_ADDRESS,
      namespace: v.TEMPORAL_NAMESPACE,
      taskQueue: v.TEMPORAL_TASK_QUEUE,
      connectTimeoutMs: v.TEMPORAL_CONNECT_TIMEOUT_MS,
    },
    api: {
      host: v.API_HOST,
      port: v.API_PORT,
      publicUrl: v.API_PUBLIC_URL,
      openIdConfigUrl: v.AUTH_OPENID_CONFIG_URL,
      audience: v.AUTH_AUDIENCE,
      clientId: v.AUTH_CLIENT_ID,
      rateLimitPerMinute: v.API_RATE_LIMIT_PER_MINUTE,
      authFailuresPerMinute: v.API_AUTH_FAILURES_PER_MINUTE,
      trustProxy: v.API_TRUST_PROXY,
      corsOrigins: v.API_CORS_ORIGINS,
    },
    microsoft,
    worker: {
      shutdownGraceMs: v.WORKER_SHUTDOWN_GRACE_MS,
      metricsPort: v.WORKER_METRICS_PORT,
      maxConcurrentActivities: v.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxCachedWorkflows: v.WORKER_MAX_CACHED_WORKFLOWS,
      workflowBundlePath: v.WORKER_WORKFLOW_BUNDLE,
    },
    audit: {
      intervalSeconds: v.AUDIT_INTERVAL_SECONDS,
      passwordMaxAgeDays: v.AUDIT_PASSWORD_MAX_AGE_DAYS,
      passwordWarningDays: v.AUDIT_PASSWORD_WARNING_DAYS,
    },
    sandbox: { enabled: sandbox, url: v.SANDBOX_URL, host: v.SANDBOX_HOST, port: v.SANDBOX_PORT },
    codec: codecConfig(v),
    environmentsFile: v.ENVIRONMENTS_FILE ?? '',
    environments,
    workflowTiming: v.WORKFLOW_TIMING,
  };
}

/** Loads `role`'s configuration or exits (78) with the message that names the bad variable. */
export function loadConfigOrExit(role: Role, env: Env = process.env): Config {
  try {
    return loadConfig(env, role);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** A setting the caller needs that this configuration lacks (possible outside the sandbox only). */
export function configured<T>(value: T | null, variable: string): T {
  if (value === null) throw new ConfigError(variable, 'is not set (docs/configuration.md)');
  return value;
}
