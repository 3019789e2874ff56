// A PostgreSQL server of its own for the local Temporal cluster: a data folder made once with
// initdb (a superuser with a password, as the compose stack's), then `postgres` started on a
// port of loopback as a child process, stopped with a fast shutdown. PostgreSQL refuses to run
// as root, so as root both run as the `postgres` user (spawn's uid/gid: the signals reach the
// server itself, which `runuser` would turn into another kind of shutdown), and the folder is
// theirs. scripts/cluster/build.sh installs Debian's package when it is missing.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { captureLines } from '../child-lines';

/** Debian's PostgreSQL 15 (the machine's; NIU_POSTGRES_BIN names another bin folder). */
export const POSTGRES_BIN = process.env.NIU_POSTGRES_BIN || '/usr/lib/postgresql/15/bin';

export interface PostgresOptions {
  /** The data folder: made by initdb when it holds no cluster yet, kept otherwise. */
  dir: string;
  port: number;
  user: string;
  password: string;
  onLog?: (line: string) => void;
}

export interface Postgres {
  host: string;
  port: number;
  user: string;
  password: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The uid and gid to run as: the `postgres` user when this process is root, else our own. */
function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/**
 * Makes the folder and gives it to the user the server runs as. That user must get through its
 * parents: a parent closed to others (mkdtemp's folders are 0700) gets search permission for
 * others (o+x, nothing else), so the folder can live in the checkout or a temporary folder.
 */
function prepareFolder(dir: string, owner: { uid?: number; gid?: number }): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner.uid === undefined) return;
  chownSync(dir, owner.uid, owner.gid!);
  for (let p = path.dirname(dir); p !== path.dirname(p); p = path.dirname(p)) {
    const mode = statSync(p).mode;
    if (!(mode & 0o001)) chmodSync(p, (mode & 0o7777) | 0o001);
  }
}

function initdb(options: PostgresOptions, owner: { uid?: number; gid?: number }): void {
  const pwfile = path.join(options.dir, '..', `.pw-${process.pid}`);
  writeFileSync(pwfile, `${options.password}\n`, { mode: 0o600 });
  if (owner.uid !== undefined) chownSync(pwfile, owner.uid, owner.gid!);
  try {
    execFileSync(
      path.join(POSTGRES_BIN, 'initdb'),
      [
        '-D',
        options.dir,
        '-U',
        options.user,
        `--pwfile=${pwfile}`,
        // Over TCP with the password, as the server and the schema tool connect; the socket
        // (in the data folder) is for whoever owns the files.
        '--auth-host=scram-sha-256',
        '--auth-local=peer',
        '-E',
        'UTF8',
        '--no-instructions',
      ],
      { ...owner, stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } finally {
    rmSync(pwfile, { force: true });
  }
}

export async function startPostgres(options: PostgresOptions): Promise<Postgres> {
  if (!existsSync(path.join(POSTGRES_BIN, 'postgres'))) {
    throw new Error(`PostgreSQL missing at ${POSTGRES_BIN}: run scripts/cluster/build.sh (apt-get install postgresql)`);
  }
  const owner = runAs();
  prepareFolder(options.dir, owner);
  if (!existsSync(path.join(options.dir, 'PG_VERSION'))) initdb(options, owner);
  const child = spawn(
    path.join(POSTGRES_BIN, 'postgres'),
    [
      '-D',
      options.dir,
      '-p',
      String(options.port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${options.dir}`,
      // Each of the server's four services keeps its own pools (20 + 4 connections by default).
      '-c',
      'max_connections=200',
    ],
    { ...owner, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let serving: () => void = () => undefined;
  const lines = captureLines(child, (line) => {
    options.onLog?.(line);
    if (/ready to accept connections/.test(line)) serving();
  });
  const ready = new Promise<void>((resolve, reject) => {
    serving = resolve;
    void exited.then(() =>
      reject(new Error(`postgres exited (${child.exitCode}) before serving:\n${lines.join('\n')}`)),
    );
  });
  const postgres: Postgres = {
    host: '127.0.0.1',
    port: options.port,
    user: options.user,
    password: options.password,
    process: child,
    async stop() {
      // SIGINT is PostgreSQL's fast shutdown: clients are disconnected, the data is flushed.
      // (SIGTERM would wait for every client to go.)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    await ready;
  } catch (err) {
    await postgres.stop();
    throw err;
  } finally {
    clearTimeout(timeout);
  }
  return postgres;
}
