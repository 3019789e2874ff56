// The one configuration module, shared by the worker, the API, the sandbox and the scripts.
// Every setting comes from an environment variable declared in variables.ts (with its type,
// default and description) and is checked at start-up: a bad value stops the process with a
// message naming the variable.
import type { ProvisionTiming } from '../workflows/types';
import { codecConfig, type CodecConfig } from './codec';
import { readVariables, type Env } from './declare';
import { loadEnvironments, sandboxEnvironments, type EnvironmentConfig } from './environments';
import { ConfigError } from './errors';
import { VARIABLES } from './variables';

export { parseCodec, type CodecConfig } from './codec';
export { parseEnvironments, sandboxEnvironments, type EnvironmentConfig } from './environments';
export { ConfigError } from './errors';
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
    openIdConfigUrl: string;
    audience: string;
    /** The API app registration's client id, the `aud` of v2.0 tokens. */
    clientId: string;
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
  microsoft: {
    tenantId: string;
    clientId: string;
    clientSecret: string;
    authorityHost: string;
    graphBaseUrl: string;
    powerPlatformBaseUrl: string;
    /** Token audience of the Power Platform admin API. */
    powerPlatformAudience: string;
    keyVaultUrl: string | null;
    /** Sandbox only: its vault host is not a subdomain of vault.azure.net. */
    keyVaultDisableChallengeResourceVerification: boolean;
  };
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
  sandbox: {
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

export function loadConfig(env: Env = process.env): Config {
  const v = readVariables(VARIABLES, env);
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
    microsoft: {
      tenantId: v.AZURE_TENANT_ID,
      clientId: v.AZURE_CLIENT_ID,
      clientSecret: v.AZURE_CLIENT_SECRET,
      authorityHost: v.AZURE_AUTHORITY_HOST,
      graphBaseUrl: v.GRAPH_BASE_URL,
      powerPlatformBaseUrl: v.POWERPLATFORM_BASE_URL,
      powerPlatformAudience: v.POWERPLATFORM_AUDIENCE,
      keyVaultUrl: v.KEYVAULT_URL,
      keyVaultDisableChallengeResourceVerification: v.KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION,
    },
    worker: {
      shutdownGraceMs: v.WORKER_SHUTDOWN_GRACE_MS,
      metricsPort: v.WORKER_METRICS_PORT,
      maxConcurrentActivities: v.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxCachedWorkflows: v.WORKER_MAX_CACHED_WORKFLOWS,
      workflowBundlePath: v.WORKER_WORKFLOW_BUNDLE,
    },
    sandbox: { url: v.SANDBOX_URL, host: v.SANDBOX_HOST, port: v.SANDBOX_PORT },
    codec: codecConfig(v),
    environmentsFile: v.ENVIRONMENTS_FILE ?? '',
    // No file: the sandbox's seeded environments at the sandbox's URL.
    environments: v.ENVIRONMENTS_FILE
      ? loadEnvironments(v.ENVIRONMENTS_FILE)
      : sandboxEnvironments(v.SANDBOX_URL).environments,
    workflowTiming: v.WORKFLOW_TIMING,
  };
}

/** Loads the configuration or exits with the message that names the bad variable. */
export function loadConfigOrExit(env: Env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
}
