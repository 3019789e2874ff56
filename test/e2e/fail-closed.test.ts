// Fail closed, as a deployment meets it: the worker and the API started as processes (the entry
// points of `npm run worker` and `npm run api`) with NODE_ENV=production and none of the
// service's settings stop at once with exit 78, naming the first setting missing; nothing
// falls back to the sandbox. The API needs no Microsoft credential to start.
import { VARIABLES } from '../../config';
import { freePort, waitForPort } from '../../scripts/ports';
import { WORKER_NODE_FLAGS } from '../../worker/node-flags';
import { call } from '../helpers/api';
import { environmentsFile } from '../helpers/config';
import { spawnEntry, type ChildRun } from '../helpers/processes';

/** This process's environment without any of the service's variables (undefined: not passed on). */
const CLEAN = Object.fromEntries(Object.keys(VARIABLES).map((name) => [name, undefined]));

const ENTRIES = {
  worker: { entry: 'worker/main.ts', flags: WORKER_NODE_FLAGS },
  api: { entry: 'api/main.ts', flags: [] },
};

function start(process: keyof typeof ENTRIES, env: Record<string, string> = {}): ChildRun {
  const { entry, flags } = ENTRIES[process];
  return spawnEntry(entry, { ...CLEAN, NODE_ENV: 'production', ...env }, [], flags);
}

/** Exit code and the configuration error of a process that is expected to stop by itself (killed if it runs on). */
async function refusal(run: ChildRun): Promise<{ code: number | string | null; message: string }> {
  const timer = setTimeout(() => void run.kill('SIGKILL'), 30_000);
  const { code, signal } = await run.exited;
  clearTimeout(timer);
  return { code: code ?? signal, message: /Configuration error: .*/.exec(run.output())?.[0] ?? run.output() };
}

const notSet = (name: string, process: string) =>
  `Configuration error: ${name} is not set, and ${process} needs it: nothing defaults to the sandbox unless NIU_SANDBOX=true (docs/configuration.md)`;

test('with no settings the worker and the API refuse to start, each naming the first setting it misses', async () => {
  const [worker, api] = await Promise.all([refusal(start('worker')), refusal(start('api'))]);
  expect(worker).toEqual({ code: 78, message: notSet('AZURE_CLOUD', 'the worker') });
  expect(api).toEqual({ code: 78, message: notSet('AUTH_OPENID_CONFIG_URL', 'the API') });
});

test('the worker names what is missing next: the credential, then what the credential needs, then the environments', async () => {
  const steps: Record<string, string>[] = [
    { AZURE_CLOUD: 'public' },
    { AZURE_CLOUD: 'public', AZURE_CLIENT_CERTIFICATE_PATH: __filename },
    { AZURE_CLOUD: 'public', AZURE_USE_MANAGED_IDENTITY: 'true' },
    { AZURE_CLOUD: 'public', AZURE_USE_MANAGED_IDENTITY: 'true', AZURE_CLIENT_SECRET: 'a-secret' },
  ];
  const results = await Promise.all(steps.map((env) => refusal(start('worker', env))));
  expect(results).toEqual([
    {
      code: 78,
      message:
        'Configuration error: AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE or ' +
        'AZURE_USE_MANAGED_IDENTITY must be set: the worker needs a credential towards Microsoft (docs/configuration.md)',
    },
    {
      code: 78,
      message: "Configuration error: AZURE_TENANT_ID is not set: the worker's client-certificate credential needs it",
    },
    { code: 78, message: notSet('ENVIRONMENTS_FILE', 'the worker') },
    {
      code: 78,
      message:
        'Configuration error: AZURE_CLIENT_SECRET and AZURE_USE_MANAGED_IDENTITY are both set: set exactly one credential ' +
        '(a secret, a certificate, a federated token file or a managed identity)',
    },
  ]);
});

test('the API starts with its own settings alone: no Microsoft credential, no cloud', async () => {
  const port = await freePort();
  const api = start('api', {
    // Nothing answers there (no request has a token to check here): the test stays offline.
    AUTH_OPENID_CONFIG_URL: `http://127.0.0.1:${await freePort()}/contoso/v2.0/.well-known/openid-configuration`,
    AUTH_AUDIENCE: 'api://noninteractive-users',
    ENVIRONMENTS_FILE: environmentsFile('https://contoso.crm.dynamics.com'),
    API_PORT: String(port),
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
    LOG_LEVEL: 'warn',
  });
  try {
    await Promise.race([
      waitForPort(port, '127.0.0.1', 60_000),
      api.exited.then(() => Promise.reject(new Error(`the API exited:\n${api.output()}`))),
    ]);
    expect((await call(`http://127.0.0.1:${port}`, 'GET', '/healthz')).status).toBe(200);
  } finally {
    await api.kill('SIGTERM');
  }
});
