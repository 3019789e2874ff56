// The dev stack behind `npm start`: the Temporal dev server (SQLite in .data, Web UI on :8233,
// search attributes registered), the sandbox, the worker and the API, wired together with no
// configuration and with prefixed logs. Ctrl-C (or SIGTERM) stops every child: each runs in its
// own process group, which is signalled as a whole, so no grandchild is left behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureCertificates } from '../sandbox/ca';
import { loadConfigOrExit } from '../config';
import { writeDevStackNote } from '../config/dev-stack';
import { WORKER_NODE_FLAGS, workerAllocatorEnv } from '../worker/node-flags';
import { waitForPort } from './ports';
import { startDevServer, type DevServer } from './temporal-server';

const root = path.resolve(__dirname, '..');
const colors = { temporal: 35, sandbox: 36, worker: 33, api: 32, stack: 1 } as const;
type Name = keyof typeof colors;
const useColor = process.stdout.isTTY;

function print(name: Name, line: string): void {
  const tag = `[${name}]`.padEnd(10);
  process.stdout.write(`${useColor ? `\x1b[${colors[name]}m${tag}\x1b[0m` : tag}${line}\n`);
}

function pipeLines(name: Name, stream: NodeJS.ReadableStream | null): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) print(name, line);
  });
}

const children: { name: Name; child: ChildProcess }[] = [];
let temporal: DevServer | undefined;
let stopping = false;

function startNode(name: Name, entry: string, env: NodeJS.ProcessEnv, flags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', path.join(root, entry)], {
    cwd: root,
    env,
    detached: true, // own process group, killed as a whole
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pipeLines(name, child.stdout);
  pipeLines(name, child.stderr);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      print('stack', `${name} exited (${signal ?? code}); stopping the stack`);
      void shutdown(1);
    }
  });
  children.push({ name, child });
  return child;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Removes the note that lets `npm run request` and `npm run doctor` find this stack (config/dev-stack.ts). */
let removeNote: (() => void) | undefined;

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  print('stack', 'stopping...');
  // API first (finishes in-flight requests), then the worker (drains), then the rest.
  for (const name of ['api', 'worker', 'sandbox'] as const) {
    const entry = children.find((c) => c.name === name);
    if (!entry) continue;
    const exited = new Promise<void>((resolve) =>
      entry.child.exitCode !== null || entry.child.signalCode !== null
        ? resolve()
        : entry.child.once('exit', () => resolve()),
    );
    signalGroup(entry.child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(entry.child, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  await temporal?.stop();
  removeNote?.();
  print('stack', 'stopped');
  process.exit(code);
}

/**
 * The dev stack's payload key: made once and kept in DATA_DIR (mode 600, git-ignored), so the
 * workflows in .data/temporal.db stay readable across restarts. Deployments set CODEC_KEYS.
 */
function devCodecKeys(dataDir: string): string {
  const file = path.join(dataDir, 'codec-keys');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `dev-${new Date().toISOString().slice(0, 10)}=${randomBytes(32).toString('base64')}\n`, {
      mode: 0o600,
    });
  }
  return readFileSync(file, 'utf8').trim();
}

async function main(): Promise<void> {
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  // The dev stack is the sandbox's: every process gets its defaults (config/required.ts).
  const sandboxEnv = { ...process.env, NIU_SANDBOX: 'true' };
  const config = loadConfigOrExit('sandbox', sandboxEnv);
  const certDir = path.join(config.dataDir, 'sandbox');
  const { caFile } = await ensureCertificates(certDir);
  const env: NodeJS.ProcessEnv = {
    ...sandboxEnv,
    NODE_EXTRA_CA_CERTS: caFile,
    DATA_DIR: config.dataDir,
    // The sandbox's vault answers at its own origin (NIU_SANDBOX turns off the check of its host).
    KEYVAULT_URL: process.env.KEYVAULT_URL ?? config.sandbox.url,
  };
  // Payload encryption on, with the UI decoding through the API's codec endpoint. The UI has no
  // sign-in here, so the API trusts codec calls from the UI's own loopback origin (and from a
  // loopback address) without a token; that is all it trusts: /v1 still needs tokens.
  const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
  const uiOrigins = [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`];
  env.CODEC_KEYS = process.env.CODEC_KEYS || devCodecKeys(config.dataDir);
  env.CODEC_TRUSTED_ORIGINS = process.env.CODEC_TRUSTED_ORIGINS ?? uiOrigins.join(',');
  env.API_CORS_ORIGINS = process.env.API_CORS_ORIGINS ?? uiOrigins.join(',');

  const [host, port] = config.temporal.address.split(':');
  if (host !== '127.0.0.1' && host !== 'localhost') {
    throw new Error(
      `npm start runs its own Temporal dev server; TEMPORAL_ADDRESS must be on loopback, got ${config.temporal.address}`,
    );
  }
  print(
    'stack',
    `starting Temporal dev server on ${config.temporal.address} (data: ${path.join(config.dataDir, 'temporal.db')})`,
  );
  temporal = await startDevServer({
    port: Number(port),
    uiPort,
    dbFile: path.join(config.dataDir, 'temporal.db'),
    extraArgs: ['--ui-codec-endpoint', `${config.api.publicUrl}/codec`],
    namespace: config.temporal.namespace,
    // The dev server's own shutdown chatter (its internal pollers losing the frontend) is noise.
    onLog: (line) => stopping || print('temporal', line),
  });
  temporal.process.once('exit', (code) => {
    if (!stopping) {
      print('stack', `temporal exited (${code}); stopping the stack`);
      void shutdown(1);
    }
  });

  startNode('sandbox', 'sandbox/main.ts', env);
  await waitForPort(config.sandbox.port, '127.0.0.1', 60_000);
  startNode('worker', 'worker/main.ts', { ...env, ...workerAllocatorEnv(env) }, WORKER_NODE_FLAGS);
  startNode('api', 'api/main.ts', env);
  await waitForPort(config.api.port, config.api.host, 60_000);

  removeNote = writeDevStackNote(config.dataDir, env);
  const api = config.api.publicUrl;
  print(
    'stack',
    [
      'ready:',
      `  API            ${api}/v1   (OpenAPI ${api}/openapi.json, docs ${api}/docs)`,
      `  Temporal UI    ${temporal.uiUrl}   (payloads encrypted, decoded through ${api}/codec; key in ${path.join(config.dataDir, 'codec-keys')})`,
      `  Temporal gRPC  ${temporal.address}   (.tools/bin/temporal workflow list --address ${temporal.address})`,
      `  Sandbox        ${config.sandbox.url}   (state: ${config.sandbox.url}/_sandbox/state, CA: ${caFile})`,
      '  Token          curl -s --cacert ' +
        `${caFile} ${config.sandbox.url}/${config.microsoft.tenantId}/oauth2/v2.0/token ` +
        '-d grant_type=client_credentials -d client_id=operator-client -d client_secret=operator-secret ' +
        '-d scope=api://noninteractive-users/.default | jq -r .access_token',
      '  Try it         npm run request -- create --environment contoso-prod --upn svc-erp@contoso.onmicrosoft.com --display-name "ERP integration"',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
}

main().catch((err: unknown) => {
  print('stack', `failed to start: ${err instanceof Error ? err.message : String(err)}`);
  void shutdown(1);
});
