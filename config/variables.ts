// The environment variables, one entry each: type and bounds, default, description. Every one
// is optional: with none set, everything points at the sandbox on its default port, so
// `npm start` needs no manual step. .env.example lists them with these defaults (a unit test
// keeps the two in step).
import { filePath, flag, int, json, list, readableFile, resolveVariables, text, url, variable } from './declare';
import { LoopbackOrigins, TrustProxy, WorkflowTiming } from './schemas';

const PORT = { minimum: 0, maximum: 65535 };

export const VARIABLES = {
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
    default: '${AZURE_AUTHORITY_HOST}/${AZURE_TENANT_ID}/v2.0/.well-known/openid-configuration',
    description: "OpenID provider metadata of the issuer of the API's bearer tokens",
  }),
  AUTH_AUDIENCE: text({ default: 'api://noninteractive-users', description: 'Required `aud` of API tokens' }),
  AUTH_CLIENT_ID: text({
    default: '5f3c2a1e-8d4b-4c7a-9e6f-0b1d2c3e4f50',
    description: "The API app registration's client id: the `aud` of v2.0 API tokens (default: the sandbox's)",
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

  AZURE_TENANT_ID: text({ default: 'contoso.onmicrosoft.com', description: "Tenant of the worker's app registration" }),
  AZURE_CLIENT_ID: text({ default: 'provisioner-client', description: "Client id of the worker's app registration" }),
  AZURE_CLIENT_SECRET: text({ default: 'provisioner-secret', description: "Secret of the worker's app registration" }),
  AZURE_AUTHORITY_HOST: url({
    default: '${SANDBOX_URL}',
    description: 'Entra ID authority; production: https://login.microsoftonline.com',
  }),
  GRAPH_BASE_URL: url({
    default: '${SANDBOX_URL}',
    description: 'Microsoft Graph; production: https://graph.microsoft.com',
  }),
  POWERPLATFORM_BASE_URL: url({
    default: '${SANDBOX_URL}',
    description: 'Power Platform admin API; production: https://api.bap.microsoft.com',
  }),
  POWERPLATFORM_AUDIENCE: text({
    default: 'https://service.powerapps.com',
    description: 'Token audience of the Power Platform admin API',
  }),
  KEYVAULT_URL: url({ description: 'Vault for generated passwords; unset: passwords are discarded' }),
  KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: flag({
    default: 'false',
    description: "Sandbox only: its vault's host is not a subdomain of vault.azure.net",
  }),

  CODEC_KEYS: list({
    description: 'Payload encryption keys, id=base64 (32 bytes each), comma-separated; unset: payloads in clear',
  }),
  CODEC_CURRENT_KEY_ID: text({ description: 'Id of the key that encrypts new payloads; unset: the first key' }),
  CODEC_TRUSTED_ORIGINS: variable(LoopbackOrigins, {
    description: 'Loopback UI origins whose codec calls need no token (the dev stack its own UI)',
  }),

  ENVIRONMENTS_FILE: filePath({ description: "JSON file of environments; unset: the sandbox's two" }),

  WORKER_SHUTDOWN_GRACE_MS: int({ default: 10_000, description: 'How long SIGTERM lets running activities finish' }),
  WORKER_METRICS_PORT: int({ default: 9464, ...PORT, description: "Port of the worker's Prometheus endpoint" }),
  WORKER_MAX_CONCURRENT_ACTIVITIES: int({ default: 100, minimum: 1, description: 'Activity slots per worker' }),
  WORKER_MAX_CACHED_WORKFLOWS: int({
    default: 256,
    minimum: 1,
    description: "Workflows kept in the worker's cache (raise with the heap limit in worker/node-flags.ts)",
  }),
  WORKER_WORKFLOW_BUNDLE: readableFile({ description: 'Prebuilt workflow bundle; unset: bundle workflows/ at start' }),
  WORKFLOW_TIMING: json(WorkflowTiming, {
    description: "Timings the API passes to every request it starts (JSON); unset: the workflow's defaults",
  }),

  SANDBOX_PORT: int({ default: 4443, ...PORT, description: 'Port of the sandbox' }),
  SANDBOX_URL: url({
    default: 'https://127.0.0.1:${SANDBOX_PORT}',
    description: "The sandbox's public URL, every Microsoft endpoint's default",
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
  description: string;
  requiredOutsideDev: boolean;
}

/** The declaration as data, for docs and for the check of .env.example. */
export function describeVariables(): VariableDescription[] {
  const { texts } = resolveVariables(VARIABLES, {});
  return Object.entries(VARIABLES).map(([name, v]) => ({
    name,
    expected: v.expected,
    default: v.default ?? null,
    defaultText: texts[name] ?? null,
    description: v.description,
    requiredOutsideDev: v.requiredOutsideDev ?? false,
  }));
}
