// No Docker engine runs here, so the deployment files are checked statically: docker-compose.yml
// is loaded by compose-go (the loader of `docker compose` v2, so schema errors are Docker's own),
// then checked against the configuration module, package.json and the Dockerfile.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pkg from '../../package.json';
import { ConfigError, loadConfig, type Role } from '../../config';
import { SETUP } from '../../scripts/cluster/temporal-cluster';

const root = path.resolve(__dirname, '../..');
const checker = path.join(root, '.tools/bin/compose-check');

interface ComposeService {
  image?: string;
  command?: string[] | null;
  entrypoint?: string[] | null;
  environment?: Record<string, string | null>;
  ports?: { target: number; published?: string }[];
  volumes?: { type: string; source?: string; target: string }[];
  profiles?: string[];
  healthcheck?: unknown;
  user?: string;
}
interface ComposeProject {
  name: string;
  services: Record<string, ComposeService>;
}

function load(
  file: string,
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  // A clean environment: the file's own defaults (and `env`) are what is checked.
  const result = spawnSync(checker, [file], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every variable the configuration module reads, found by letting it read a recording env. */
function configVariables(): Set<string> {
  const seen = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get(_target, key) {
      if (typeof key === 'string') seen.add(key);
      return undefined;
    },
  });
  loadConfig(env, 'sandbox'); // reads every declared variable, needs none
  return seen;
}

let project: ComposeProject;
/** The same file with NIU_SANDBOX=true in the shell, as `docker compose --profile sandbox` is run. */
let onSandbox: ComposeProject;

beforeAll(() => {
  if (!existsSync(checker)) {
    execFileSync('go', ['build', '-o', checker, '.'], {
      cwd: path.join(root, 'scripts/compose-check'),
      stdio: 'inherit',
    });
  }
  const result = load(path.join(root, 'docker-compose.yml'));
  if (result.status !== 0) throw new Error(`docker-compose.yml does not load: ${result.stderr}`);
  project = JSON.parse(result.stdout) as ComposeProject;
  onSandbox = JSON.parse(load(path.join(root, 'docker-compose.yml'), { NIU_SANDBOX: 'true' }).stdout) as ComposeProject;
}, 300_000);

test('the checker rejects a file that breaks the Compose Specification', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niu-compose-'));
  const file = path.join(dir, 'docker-compose.yml');
  writeFileSync(file, 'services:\n  api:\n    image: x:1\n    ports: 3000\n    restart: sometimes\n');
  const result = load(file);
  expect(result.status).not.toBe(0);
  expect(result.stderr).toMatch(/ports|restart/);
});

test('the stack has Temporal on PostgreSQL, schema via admin-tools, the UI, worker, API and an optional sandbox', () => {
  const services = project.services;
  expect(Object.keys(services).sort()).toEqual(
    ['api', 'postgresql', 'sandbox', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui', 'worker'].sort(),
  );
  expect(services['temporal-schema']?.image).toMatch(/^temporalio\/admin-tools:/);
  expect(services.temporal?.image).toMatch(/^temporalio\/server:/);
  expect(services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
  expect(services.temporal?.environment?.DB).toBe('postgres12');
  expect(Object.values(services).some((s) => /auto-setup/.test(s.image ?? ''))).toBe(false);
  expect(services.sandbox?.profiles).toEqual(['sandbox']);
  expect(services.worker?.profiles ?? []).toEqual([]);
});

test('every image is pinned to a version', () => {
  for (const [name, service] of Object.entries(project.services)) {
    const image = service.image ?? '';
    const tag = image.includes('@sha256:') ? 'digest' : (image.split(':')[1] ?? '');
    expect({ name, image, pinned: /^\d+(\.\d+)*([.-][\w.-]+)?$|^digest$/.test(tag) }).toEqual({
      name,
      image,
      pinned: true,
    });
  }
});

test("every service's scripts and npm commands exist", () => {
  for (const [name, service] of Object.entries(project.services)) {
    const command = service.command ?? [];
    if (command[0] === 'npm') {
      expect(command[1]).toBe('run');
      const script = (pkg.scripts as Record<string, string>)[command[2] ?? ''];
      expect({ name, script: script ?? null }).not.toEqual({ name, script: null });
      const entry = script?.match(/(\S+\.ts)/)?.[1];
      expect({ name, entry, exists: !!entry && existsSync(path.join(root, entry)) }).toEqual({
        name,
        entry,
        exists: true,
      });
    }
    for (const part of command) {
      if (part.startsWith('/scripts/')) {
        const mount = service.volumes?.find((v) => v.target === '/scripts');
        expect(mount?.source).toBeDefined();
        expect(existsSync(path.join(mount!.source!, part.slice('/scripts/'.length)))).toBe(true);
      }
    }
  }
});

test('the compose stack sets up Temporal with the scripts the local cluster runs', () => {
  const services = project.services;
  /** The file on this side of the service's bind mount that `target` names inside it. */
  const hostPath = (service: ComposeService, target: string): string | undefined => {
    const mount = service.volumes?.find(
      (v) => v.type === 'bind' && (target === v.target || target.startsWith(`${v.target}/`)),
    );
    return mount?.source && path.join(mount.source, path.relative(mount.target, target));
  };
  const ran = (name: string): string | undefined => {
    const service = services[name]!;
    expect(service.entrypoint).toEqual(['/bin/sh']);
    return hostPath(service, service.command![0]!);
  };
  // scripts/cluster/temporal-cluster.ts runs SETUP.schema and SETUP.namespace, and its server reads SETUP.dynamicConfig.
  expect(ran('temporal-schema')).toBe(SETUP.schema);
  expect(ran('temporal-setup')).toBe(SETUP.namespace);
  const temporal = services.temporal!;
  const dynamicConfig = `/etc/temporal/${temporal.environment?.DYNAMIC_CONFIG_FILE_PATH}`;
  expect(hostPath(temporal, dynamicConfig)).toBe(SETUP.dynamicConfig);
  // The same parameters, as the images name them: the tool and schema of admin-tools, and as many shards.
  expect(services['temporal-schema']?.environment).toMatchObject({
    TEMPORAL_SQL_TOOL: 'temporal-sql-tool',
    TEMPORAL_SCHEMA_DIR: '/etc/temporal/schema',
  });
  expect(services['temporal-setup']?.environment).toMatchObject({ TEMPORAL_CLI: 'temporal' });
  expect(temporal.environment?.NUM_HISTORY_SHARDS).toBe('4');
  const clusterConfig = readFileSync(path.join(root, 'scripts/cluster/config/cluster.yaml'), 'utf8');
  expect(clusterConfig).toMatch(/numHistoryShards: \{\{ env "NUM_HISTORY_SHARDS" \| default "4" \}\}/);
});

test('service variables are the configuration module’s, and ports match them', () => {
  const known = configVariables();
  // Variables read by Node itself or by images other than ours.
  const foreign = new Set(['NODE_EXTRA_CA_CERTS', 'NODE_ENV']);
  for (const name of ['worker', 'api', 'sandbox'] as const) {
    const env = project.services[name]?.environment ?? {};
    for (const key of Object.keys(env)) {
      expect({ service: name, variable: key, known: known.has(key) || foreign.has(key) }).toEqual({
        service: name,
        variable: key,
        known: true,
      });
    }
  }
  const api = project.services.api!;
  const apiPort = Number(api.environment?.API_PORT);
  expect(api.ports?.map((p) => p.target)).toContain(apiPort);
  const worker = project.services.worker!;
  expect(worker.ports?.map((p) => p.target)).toContain(Number(worker.environment?.WORKER_METRICS_PORT));
  const sandbox = project.services.sandbox!;
  expect(sandbox.ports?.map((p) => p.target)).toContain(Number(sandbox.environment?.SANDBOX_PORT));
  // The worker and API reach Temporal by its service name and port.
  const temporalPort = project.services.temporal?.ports?.[0]?.target;
  expect(worker.environment?.TEMPORAL_ADDRESS).toBe(`temporal:${temporalPort}`);
});

/** The ConfigError (or null) of a service's environment, loaded as its process does. */
function configErrorOf(p: ComposeProject, service: 'worker' | 'api' | 'sandbox'): string | null {
  try {
    loadConfig((p.services[service]?.environment ?? {}) as Record<string, string>, service satisfies Role);
    return null;
  } catch (err) {
    if (err instanceof ConfigError) return err.variable;
    throw err;
  }
}

test('fail closed: with the defaults of the file the worker and the API refuse to start; with NIU_SANDBOX=true all load', () => {
  const services = ['worker', 'api', 'sandbox'] as const;
  expect(services.map((s) => configErrorOf(project, s))).toEqual(['AZURE_CLOUD', 'AUTH_OPENID_CONFIG_URL', null]);
  expect(services.map((s) => configErrorOf(onSandbox, s))).toEqual([null, null, null]);
  const config = loadConfig(onSandbox.services.worker!.environment as Record<string, string>, 'worker');
  expect(config.microsoft).toMatchObject({
    authorityHost: 'https://sandbox:4443',
    graphBaseUrl: 'https://sandbox:4443',
  });
  // The API gets no credential of the worker.
  const credentials = /^AZURE_(CLIENT_SECRET|CLIENT_CERTIFICATE_|FEDERATED_TOKEN_FILE|USE_MANAGED_IDENTITY)/;
  expect(Object.keys(project.services.api?.environment ?? {}).filter((k) => credentials.test(k))).toEqual([]);
  expect(Object.keys(project.services.worker?.environment ?? {}).filter((k) => credentials.test(k))).toHaveLength(5);
});

test('the Dockerfile runs Node 24 (pinned), as non-root, with production dependencies, jemalloc and a health check', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-[\w-]+$/m);
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(dockerfile).toMatch(/npm ci --omit=dev/);
  expect(dockerfile).toMatch(/^HEALTHCHECK /m);
  // The allocator the worker was measured with (worker/node-flags.ts).
  expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends libjemalloc2/);
  expect(dockerfile).toMatch(/^\s+LD_PRELOAD=libjemalloc\.so\.2$/m);
  const nvmrc = readFileSync(path.join(root, '.nvmrc'), 'utf8').trim();
  expect(nvmrc).toBe('24');
});
