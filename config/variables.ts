// The environment variables, one entry each: type and bounds, default, description. With
// NIU_SANDBOX=true (`npm start`, the tests, the benchmarks) every Microsoft setting has the
// sandbox's default, so those need no manual step; without it nothing defaults to the sandbox:
// endpoints come from AZURE_CLOUD's row of clouds.ts, and what a process needs and has no
// default (required.ts) stops it at start. .env.example lists them (a unit test keeps the two in
// step).
import { CLOUD_NAMES } from './clouds';
import { filePath, flag, int, json, list, oneOf, readableFile, resolveVariables, text, url, variable } from './declare';
import { requiredBy, type Role } from './required';
import { LoopbackOrigins, TrustProxy, WorkflowTiming } from './schemas';

const PORT = { minimum: 0, maximum: 65535 };

export const VARIABLES = {
  NIU_SANDBOX: flag({
    default: 'false',
    description: 'Run on the sandbox: its endpoints, identities and environments are the defaults (npm start, tests)',
  }),
  DATA_DIR: filePath({
    default: '.data',
    description: "Folder of the Temporal dev server's SQLite file, the sandbox's CA and state (git-ignored)",
  }),
  LOG_LEVEL: text({ default: 'info', description: 'pino level of the API and the worker' }),

  TEMPORAL_ADDRESS: text({ default: '127.0.0.1:7233', description: 'Temporal frontend, host:port' }),
  TEMPORAL_NAMESPACE: text({ default: 'default', description: 'Temporal namespace' }),
  TEMPORAL_TASK_QUEUE: text({ default: 'noninteractive-users', description: 'Task queue of the worker' }),
  TEMPORAL_CONNECT_TIMEOUT_MS: int({
    default: 5000,
    minimum: 100,
    description: 'Bound on reaching Temporal, so callers get a 503 instead of a hang',
  }),

  API_HOST: text({ default: '127.0.0.1', description: 'Interface the API listens on' }),
  API_PORT: int({ default: 3000, ...PORT, description: 'Port the API listens on' }),
  API_PUBLIC_URL: url({
    default: 'http://${API_HOST}:${API_PORT}',
    description: 'Public base URL of Location headers and links',
  }),
  AUTH_OPENID_CONFIG_URL: url({
    sandbox: '${AZURE_AUTHORITY_HOST}/${AZURE_TENANT_ID}/v2.0/.well-known/openid-configuration',
    description: "OpenID provider metadata of the issuer of the API's bearer tokens",
  }),
  AUTH_AUDIENCE: text({
    sandbox: 'api://noninteractive-users',
    description: "The API's App ID URI: the `aud` of v1.0 API tokens",
  }),
  AUTH_CLIENT_ID: text({
    sandbox: '5f3c2a1e-8d4b-4c7a-9e6f-0b1d2c3e4f50',
    description: "The API app registration's client id: the `aud` of v2.0 API tokens; unset: v2.0 tokens are refused",
  }),
  API_RATE_LIMIT_PER_MINUTE: int({ default: 600, minimum: 1, description: 'Requests per client per minute' }),
  API_AUTH_FAILURES_PER_MINUTE: int({
    default: 30,
    minimum: 1,
    description: 'Failed authentications (401) per address per minute; then 429 until the minute ends',
  }),
  API_TRUST_PROXY: variable(TrustProxy, {
    default: 'false',
    description:
      "Proxies whose X-Forwarded-For gives the caller's address: true, a hop count, or addresses and CIDR ranges",
  }),
  API_CORS_ORIGINS: list({
    default: 'http://127.0.0.1:8233,http://localhost:8233',
    description: 'Origins allowed by CORS (the Temporal UI, for the codec endpoint)',
  }),

  AZURE_CLOUD: oneOf(CLOUD_NAMES, {
    sandbox: 'public',
    description: 'The Microsoft cloud: every endpoint and audience not set below comes from it (config/clouds.ts)',
  }),
  AZURE_TENANT_ID: text({ sandbox: 'contoso.onmicrosoft.com', description: "Tenant of the worker's app registration" }),
  AZURE_CLIENT_ID: text({
    sandbox: 'provisioner-client',
    description:
      "Client id of the worker's app registration (managed identity: a user-assigned one's; unset: system-assigned)",
  }),
  AZURE_CLIENT_SECRET: text({ description: "The worker's client secret (one credential kind of four)" }),
  AZURE_CLIENT_CERTIFICATE_PATH: readableFile({
    description: "The worker's certificate: PEM file with the private key (one credential kind of four)",
  }),
  AZURE_CLIENT_CERTIFICATE_PASSWORD: text({ description: 'Password of the certificate file, if it has one' }),
  AZURE_CLIENT_SEND_CERTIFICATE_CHAIN: flag({
    default: 'false',
    description: 'Send the certificate chain (x5c), for subject name and issuer authentication',
  }),
  AZURE_FEDERATED_TOKEN_FILE: readableFile({
    description: 'File of a federated token: workload identity federation (one credential kind of four)',
  }),
  AZURE_USE_MANAGED_IDENTITY: flag({
    default: 'false',
    description:
      "The worker's managed identity (one credential kind of four); AZURE_CLIENT_ID picks a user-assigned one",
  }),
  AZURE_AUTHORITY_HOST: url({ sandbox: '${SANDBOX_URL}', description: "Entra ID authority; unset: the cloud's" }),
  GRAPH_BASE_URL: url({ sandbox: '${SANDBOX_URL}', description: "Microsoft Graph; unset: the cloud's" }),
  GRAPH_AUDIENCE: url({
    description: "Audience of Graph tokens; unset: the Graph of GRAPH_BASE_URL's cloud (else AZURE_CLOUD's)",
  }),
  POWERPLATFORM_BASE_URL: url({
    sandbox: '${SANDBOX_URL}',
    description: "Power Platform admin API; unset: the cloud's",
  }),
  POWERPLATFORM_AUDIENCE: text({
    description:
      "Token audience of the Power Platform admin API; unset: POWERPLATFORM_BASE_URL's cloud's (else AZURE_CLOUD's)",
  }),
  DATAVERSE_DOMAIN: text({ description: "Domain the environments' Dataverse URLs must be under; unset: the cloud's" }),
  KEYVAULT_URL: url({ description: 'Vault for generated passwords; unset: passwords are discarded' }),
  KEYVAULT_DOMAIN: text({ description: "Domain KEYVAULT_URL must be under; unset: the cloud's" }),
  KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: flag({
    default: 'false',
    sandbox: 'true',
    description: "Sandbox only: its vault's host is not a subdomain of vault.azure.net",
  }),

  CODEC_KEYS: list({
    description: 'Payload encryption keys, id=base64 (32 bytes each), comma-separated; unset: payloads in clear',
  }),
  CODEC_CURRENT_KEY_ID: text({ description: 'Id of the key that encrypts new payloads; unset: the first key' }),
  CODEC_TRUSTED_ORIGINS: variable(LoopbackOrigins, {
    description: 'Loopback UI origins whose codec calls need no token (the dev stack its own UI)',
  }),

  ENVIRONMENTS_FILE: filePath({ description: 'JSON file of environments; unset on the sandbox: its two' }),

  WORKER_SHUTDOWN_GRACE_MS: int({ default: 10_000, description: 'How long SIGTERM lets running activities finish' }),
  WORKER_METRICS_PORT: int({ default: 9464, ...PORT, description: "Port of the worker's Prometheus endpoint" }),
  WORKER_MAX_CONCURRENT_ACTIVITIES: int({ default: 100, minimum: 1, description: 'Activity slots per worker' }),
  WORKER_MAX_CACHED_WORKFLOWS: int({
    default: 256,
    minimum: 1,
    description: "Workflows kept in the worker's cache (raise with the heap limit in worker/node-flags.ts)",
  }),
  WORKER_WORKFLOW_BUNDLE: readableFile({ description: 'Prebuilt workflow bundle; unset: bundle workflows/ at start' }),
  AUDIT_INTERVAL_SECONDS: int({
    default: 3600,
    minimum: 1,
    description: "How often each environment's drift audit runs (its Temporal Schedule, kept in step by the worker)",
  }),
  AUDIT_PASSWORD_MAX_AGE_DAYS: int({
    default: 90,
    minimum: 1,
    description: "The tenant's password expiry period, for the audit's password-expiring finding",
  }),
  AUDIT_PASSWORD_WARNING_DAYS: int({
    default: 14,
    minimum: 0,
    description: 'How many days before a password expires the audit reports it (password-expiring)',
  }),
  WORKFLOW_TIMING: json(WorkflowTiming, {
    description: "Timings the API passes to every request it starts (JSON); unset: the workflow's defaults",
  }),

  SANDBOX_PORT: int({ default: 4443, ...PORT, description: 'Port of the sandbox' }),
  SANDBOX_URL: url({
    default: 'https://127.0.0.1:${SANDBOX_PORT}',
    description: "The sandbox's public URL, every Microsoft endpoint's default with NIU_SANDBOX=true",
  }),
  SANDBOX_HOST: text({
    default: '127.0.0.1',
    description: 'Interface the sandbox listens on (0.0.0.0 in a container)',
  }),
};

export interface VariableDescription {
  name: string;
  /** What the value must be, e.g. "a whole number". */
  expected: string;
  /** The default as declared (`${NAME}` for another variable's value); null: none. */
  default: string | null;
  /** The default with nothing set, as .env.example gives it; null: none. */
  defaultText: string | null;
  /** The default with NIU_SANDBOX=true and nothing else set; null: none. */
  sandboxText: string | null;
  description: string;
  /** The processes that refuse to start without it outside the sandbox (required.ts). */
  requiredBy: Role[];
}

/** The declaration as data, for docs and for the check of .env.example. */
export function describeVariables(): VariableDescription[] {
  const { texts } = resolveVariables(VARIABLES, {});
  const sandbox = resolveVariables(VARIABLES, {}, { sandbox: true }).texts;
  return Object.entries(VARIABLES).map(([name, v]) => ({
    name,
    expected: v.expected,
    default: v.default ?? null,
    defaultText: texts[name] ?? null,
    sandboxText: sandbox[name] ?? null,
    description: v.description,
    requiredBy: requiredBy(name),
  }));
}
