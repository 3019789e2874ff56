// The one configuration module, shared by the worker, the API and the scripts. Every setting
// comes from an environment variable (documented in .env.example and the README) and is
// validated at start-up: a bad value stops the process with a message naming the variable.
// With nothing set, everything points at the sandbox on its default port, so `npm start`
// needs no manual step.
import { accessSync, constants as fsConstants } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import type { ProvisionTiming } from '../workflows/types';
import { loadEnvironments, sandboxEnvironments, type EnvironmentConfig } from './environments';
import { ConfigError } from './errors';

export { parseEnvironments, sandboxEnvironments, type EnvironmentConfig } from './environments';
export { ConfigError };

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

export interface CodecConfig {
  /** AES-256 keys by id; every one decrypts (rotation), only `currentKeyId` encrypts. */
  keys: Map<string, Buffer>;
  currentKeyId: string;
  /**
   * Browser origins whose codec calls are trusted without a token when they come from a
   * loopback address: the dev stack's own Temporal UI. Loopback origins only (validated).
   */
  trustedOrigins: string[];
}

type Env = Record<string, string | undefined>;

const root = path.resolve(__dirname, '..');

function str(env: Env, name: string, fallback: string): string {
  const value = env[name];
  if (value === undefined || value === '') return fallback;
  return value;
}

function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, fallback: string): string {
  const value = str(env, name, fallback);
  try {
    const parsed = new URL(value);
    if (!/^https?:$/.test(parsed.protocol)) throw new Error('protocol');
  } catch {
    throw new ConfigError(name, `must be an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * `true` (any proxy), a hop count, or proxy addresses and CIDR ranges (and proxy-addr's names
 * loopback, linklocal, uniquelocal), comma-separated; unset or `false`: the socket's address.
 */
function trustProxy(env: Env, name: string): boolean | number | string[] {
  const raw = env[name]?.trim();
  if (!raw || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const entries = list(env, name, []);
  const bad = entries.filter((e) => {
    if (/^(loopback|linklocal|uniquelocal)$/.test(e)) return false;
    const [address, prefix, ...rest] = e.split('/');
    const family = isIP(address ?? '');
    if (family === 0 || rest.length > 0) return true;
    return prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  });
  if (bad.length > 0) {
    throw new ConfigError(
      name,
      `must be true, a hop count, or proxy addresses or CIDR ranges, got ${bad.map((b) => `"${b}"`).join(', ')}`,
    );
  }
  return entries;
}

/** An optional path to an existing file (resolved against the project root). */
function bundlePath(env: Env, name: string): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  const resolved = path.resolve(root, raw);
  try {
    accessSync(resolved, fsConstants.R_OK);
  } catch (err) {
    throw new ConfigError(name, `cannot be read: ${(err as Error).message}`);
  }
  return resolved;
}

export function loadConfig(env: Env = process.env): Config {
  const dataDir = path.resolve(root, str(env, 'DATA_DIR', '.data'));
  const sandboxPort = int(env, 'SANDBOX_PORT', 4443, 0, 65535);
  const sandboxUrl = url(env, 'SANDBOX_URL', `https://127.0.0.1:${sandboxPort}`);
  const tenantId = str(env, 'AZURE_TENANT_ID', 'contoso.onmicrosoft.com');
  const host = str(env, 'API_HOST', '127.0.0.1');
  const port = int(env, 'API_PORT', 3000, 0, 65535);
  const authorityHost = url(env, 'AZURE_AUTHORITY_HOST', sandboxUrl);

  const environmentsFile = env.ENVIRONMENTS_FILE ? path.resolve(root, env.ENVIRONMENTS_FILE) : '';
  // No file: the sandbox's seeded environments at the sandbox's URL.
  const environments = environmentsFile
    ? loadEnvironments(environmentsFile)
    : sandboxEnvironments(sandboxUrl).environments;

  const keyVaultUrl = env.KEYVAULT_URL ? url(env, 'KEYVAULT_URL', '') : null;

  return {
    dataDir,
    logLevel: str(env, 'LOG_LEVEL', 'info'),
    temporal: {
      address: str(env, 'TEMPORAL_ADDRESS', '127.0.0.1:7233'),
      namespace: str(env, 'TEMPORAL_NAMESPACE', 'default'),
      taskQueue: str(env, 'TEMPORAL_TASK_QUEUE', 'noninteractive-users'),
      connectTimeoutMs: int(env, 'TEMPORAL_CONNECT_TIMEOUT_MS', 5000, 100),
    },
    api: {
      host,
      port,
      publicUrl: url(env, 'API_PUBLIC_URL', `http://${host}:${port}`),
      openIdConfigUrl: url(
        env,
        'AUTH_OPENID_CONFIG_URL',
        `${authorityHost}/${tenantId}/v2.0/.well-known/openid-configuration`,
      ),
      audience: str(env, 'AUTH_AUDIENCE', 'api://noninteractive-users'),
      rateLimitPerMinute: int(env, 'API_RATE_LIMIT_PER_MINUTE', 600, 1),
      authFailuresPerMinute: int(env, 'API_AUTH_FAILURES_PER_MINUTE', 30, 1),
      trustProxy: trustProxy(env, 'API_TRUST_PROXY'),
      corsOrigins: list(env, 'API_CORS_ORIGINS', ['http://127.0.0.1:8233', 'http://localhost:8233']),
    },
    microsoft: {
      tenantId,
      clientId: str(env, 'AZURE_CLIENT_ID', 'provisioner-client'),
      clientSecret: str(env, 'AZURE_CLIENT_SECRET', 'provisioner-secret'),
      authorityHost,
      graphBaseUrl: url(env, 'GRAPH_BASE_URL', sandboxUrl),
      powerPlatformBaseUrl: url(env, 'POWERPLATFORM_BASE_URL', sandboxUrl),
      powerPlatformAudience: str(env, 'POWERPLATFORM_AUDIENCE', 'https://service.powerapps.com'),
      keyVaultUrl,
      keyVaultDisableChallengeResourceVerification: bool(
        env,
        'KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION',
        false,
      ),
    },
    worker: {
      shutdownGraceMs: int(env, 'WORKER_SHUTDOWN_GRACE_MS', 10_000),
      metricsPort: int(env, 'WORKER_METRICS_PORT', 9464, 0, 65535),
      maxConcurrentActivities: int(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 100, 1),
      maxCachedWorkflows: int(env, 'WORKER_MAX_CACHED_WORKFLOWS', 256, 1),
      workflowBundlePath: bundlePath(env, 'WORKER_WORKFLOW_BUNDLE'),
    },
    sandbox: { url: sandboxUrl, host: str(env, 'SANDBOX_HOST', '127.0.0.1'), port: sandboxPort },
    codec: parseCodec(env),
    environmentsFile,
    environments,
    workflowTiming: timing(env, 'WORKFLOW_TIMING'),
  };
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * CODEC_KEYS: comma-separated `id=base64` pairs, each key 32 bytes (AES-256), e.g.
 * `2026-11=q0S...=,2026-05=Zt1...=`. CODEC_CURRENT_KEY_ID picks the encrypting key (default:
 * the first listed). CODEC_TRUSTED_ORIGINS: loopback UI origins trusted without a token.
 */
export function parseCodec(env: Env): CodecConfig | null {
  const raw = env.CODEC_KEYS;
  const trustedOrigins = list(env, 'CODEC_TRUSTED_ORIGINS', []).map((origin) => {
    let parsed: URL;
    try {
      parsed = new URL(origin);
    } catch {
      throw new ConfigError('CODEC_TRUSTED_ORIGINS', `holds "${origin}", which is not an origin`);
    }
    if (!/^https?:$/.test(parsed.protocol) || parsed.origin !== origin.replace(/\/+$/, '')) {
      throw new ConfigError('CODEC_TRUSTED_ORIGINS', `holds "${origin}", which is not an http(s) origin`);
    }
    // Trust without a token is for a UI on the same machine only; anything else must use tokens.
    if (!LOOPBACK_HOSTS.has(parsed.hostname)) {
      throw new ConfigError('CODEC_TRUSTED_ORIGINS', `may hold loopback origins only, got "${origin}"`);
    }
    return parsed.origin;
  });
  if (raw === undefined || raw === '') {
    if (env.CODEC_CURRENT_KEY_ID) throw new ConfigError('CODEC_CURRENT_KEY_ID', 'is set but CODEC_KEYS is not');
    if (trustedOrigins.length) throw new ConfigError('CODEC_TRUSTED_ORIGINS', 'is set but CODEC_KEYS is not');
    return null;
  }
  const keys = new Map<string, Buffer>();
  for (const entry of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = entry.indexOf('=');
    const id = eq > 0 ? entry.slice(0, eq) : '';
    const b64 = entry.slice(eq + 1);
    // Never echo key material in an error: name the entry by its id (or position) only.
    if (!KEY_ID.test(id)) {
      throw new ConfigError(
        'CODEC_KEYS',
        `entry ${keys.size + 1} must be "<id>=<base64 key>" with an id of letters, digits, ".", "_" or "-"`,
      );
    }
    if (keys.has(id)) throw new ConfigError('CODEC_KEYS', `repeats the key id "${id}"`);
    const key = /^[A-Za-z0-9+/_-]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) {
      throw new ConfigError('CODEC_KEYS', `key "${id}" must be 32 bytes in base64 (openssl rand -base64 32)`);
    }
    keys.set(id, key);
  }
  if (keys.size === 0) throw new ConfigError('CODEC_KEYS', 'holds no key');
  const currentKeyId = str(env, 'CODEC_CURRENT_KEY_ID', [...keys.keys()][0]!);
  if (!keys.has(currentKeyId)) {
    throw new ConfigError('CODEC_CURRENT_KEY_ID', `names "${currentKeyId}", which is not in CODEC_KEYS`);
  }
  return { keys, currentKeyId, trustedOrigins };
}

const TIMING_KEYS: (keyof ProvisionTiming)[] = [
  'syncTimeoutMs',
  'syncPollInitialMs',
  'syncPollMaxMs',
  'forceSyncWindowMs',
  'forceSyncIntervalMs',
  'verifySettleMs',
  'verifyMaxReapply',
  'retryMaxIntervalMs',
  'stepRetryWindowMs',
];

/** WORKFLOW_TIMING: a JSON object whose keys are ProvisionTiming fields with non-negative numbers. */
function timing(env: Env, name: string): Partial<ProvisionTiming> | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new ConfigError(name, `must be a JSON object, got "${raw}"`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError(name, `must be a JSON object, got "${raw}"`);
  }
  const out: Partial<ProvisionTiming> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (!TIMING_KEYS.includes(key as keyof ProvisionTiming)) {
      throw new ConfigError(name, `has an unknown field "${key}" (known: ${TIMING_KEYS.join(', ')})`);
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new ConfigError(name, `field "${key}" must be a non-negative number, got ${JSON.stringify(value)}`);
    }
    out[key as keyof ProvisionTiming] = value;
  }
  return out;
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
