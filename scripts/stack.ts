// What the two local stacks share: `npm start` (scripts/dev.ts, the dev server) and
// `npm run start:cluster` (scripts/cluster/main.ts, the self-hosted cluster). Children with
// prefixed logs, each in its own process group, which is signalled as a whole, so no grandchild
// is left behind; a stop in order (APIs first: they finish the requests in flight; then the
// workers, which drain; then the sandbox; then whatever the stack registered, Temporal last);
// the environment every process of a stack on the sandbox gets.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureCertificates } from '../sandbox/ca';
import { loadConfigOrExit, type Config } from '../config';

const root = path.resolve(__dirname, '..');
/** A name's colour, by its kind (`worker-2` is a worker). */
const colors: Record<string, number> = { temporal: 35, postgres: 34, sandbox: 36, worker: 33, api: 32, stack: 1 };
const useColor = process.stdout.isTTY;

export function print(name: string, line: string): void {
  const tag = `[${name}]`.padEnd(11);
  const color = colors[name.replace(/-\d+$/, '')] ?? 1;
  process.stdout.write(`${useColor ? `\x1b[${color}m${tag}\x1b[0m` : tag}${line}\n`);
}

function pipeLines(name: string, stream: NodeJS.ReadableStream | null): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) print(name, line);
  });
}

const children: { name: string; child: ChildProcess }[] = [];
/** Run after the children have stopped, in the order registered (the Temporal server, PostgreSQL). */
const afterChildren: (() => Promise<void> | void)[] = [];
let stopping = false;

export function isStopping(): boolean {
  return stopping;
}

/** Something to stop once every child has (the Temporal server, PostgreSQL, a note to remove). */
export function onStop(fn: () => Promise<void> | void): void {
  afterChildren.push(fn);
}

/** Starts `node --import tsx <entry>` in its own process group; its exit stops the stack. */
export function startNode(name: string, entry: string, env: NodeJS.ProcessEnv, flags: string[] = []): ChildProcess {
  const child = spawn(process.execPath, [...flags, '--import', 'tsx', path.join(root, entry)], {
    cwd: root,
    env,
    detached: true, // own process group, killed as a whole
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  pipeLines(name, child.stdout);
  pipeLines(name, child.stderr);
  stopStackOnExit(name, child);
  children.push({ name, child });
  return child;
}

/** A process the stack cannot run without (a child, the Temporal server): its exit stops the stack. */
export function stopStackOnExit(name: string, child: ChildProcess): void {
  child.once('exit', (code, signal) => {
    if (!stopping) {
      print('stack', `${name} exited (${signal ?? code}); stopping the stack`);
      void shutdown(1);
    }
  });
}

/** Prints a line of `name` unless the stack is stopping (a server's shutdown chatter is noise). */
export function printUnlessStopping(name: string, line: string): void {
  if (!stopping) print(name, line);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** Stops one child's group: SIGTERM, SIGKILL after 15 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  print('stack', 'stopping...');
  // APIs first (they finish in-flight requests), then the workers (they drain), then the rest;
  // processes of one kind together.
  for (const kind of ['api', 'worker', 'sandbox']) {
    const ofKind = children.filter((c) => c.name.replace(/-\d+$/, '') === kind);
    await Promise.all(ofKind.map((c) => stopChild(c.child)));
  }
  for (const fn of afterChildren) {
    try {
      await fn();
    } catch (err) {
      print('stack', `while stopping: ${String(err)}`);
    }
  }
  print('stack', 'stopped');
  process.exit(code);
}

/** Ctrl-C (or SIGTERM) stops the stack; a failure to start does too, after saying why. */
export function runStack(main: () => Promise<void>): void {
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  main().catch((err: unknown) => {
    print('stack', `failed to start: ${err instanceof Error ? err.message : String(err)}`);
    void shutdown(1);
  });
}

/**
 * The dev stack's payload key: made once and kept in DATA_DIR (mode 600, git-ignored), so the
 * workflows Temporal keeps stay readable across restarts. Deployments set CODEC_KEYS.
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

/**
 * The configuration and environment of a stack on the sandbox: every process gets its defaults
 * (config/required.ts), trusts its CA, and encrypts payloads with the dev key. `uiOrigins`: the
 * Temporal UI's origins, which may call the API's codec endpoint (the UI has no sign-in here, so
 * the API trusts codec calls from them and from loopback without a token; /v1 still needs tokens).
 */
export async function sandboxStackEnv(
  uiOrigins: string[],
): Promise<{ config: Config; env: NodeJS.ProcessEnv; caFile: string }> {
  const sandboxEnv = { ...process.env, NIU_SANDBOX: 'true' };
  const config = loadConfigOrExit('sandbox', sandboxEnv);
  const { caFile } = await ensureCertificates(path.join(config.dataDir, 'sandbox'));
  const env: NodeJS.ProcessEnv = {
    ...sandboxEnv,
    NODE_EXTRA_CA_CERTS: caFile,
    DATA_DIR: config.dataDir,
    // The sandbox's vault answers at its own origin (NIU_SANDBOX turns off the check of its host).
    KEYVAULT_URL: process.env.KEYVAULT_URL ?? config.sandbox.url,
    CODEC_KEYS: process.env.CODEC_KEYS || devCodecKeys(config.dataDir),
    CODEC_TRUSTED_ORIGINS: process.env.CODEC_TRUSTED_ORIGINS ?? uiOrigins.join(','),
    API_CORS_ORIGINS: process.env.API_CORS_ORIGINS ?? uiOrigins.join(','),
  };
  return { config, env, caFile };
}

/** TEMPORAL_ADDRESS's port: a local stack runs its own Temporal, so the address must be on loopback. */
export function loopbackTemporalPort(config: Config): number {
  const [host, port] = config.temporal.address.split(':');
  if (host !== '127.0.0.1' && host !== 'localhost') {
    throw new Error(
      `this stack runs its own Temporal; TEMPORAL_ADDRESS must be on loopback, got ${config.temporal.address}`,
    );
  }
  return Number(port);
}
