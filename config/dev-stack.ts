// While `npm start` runs, it leaves a note in its data folder (dev-stack.json): its pid and the
// settings it gave its own processes that a command run beside it needs (the sandbox opt-in, the
// sandbox's vault and URLs). `npm run request` and `npm run doctor` in another terminal take them
// from there, so that on the dev stack they need no variables, as the README promises. Nothing
// else reads the note, it is there only while that process lives, and a deployment never runs
// `npm start`: outside it the configuration stays fail closed (config/required.ts).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const NOTE = 'dev-stack.json';
/** The settings a command beside the dev stack takes from it. */
const SHARED = ['NIU_SANDBOX', 'KEYVAULT_URL', 'SANDBOX_URL', 'SANDBOX_PORT', 'API_HOST', 'API_PORT', 'API_PUBLIC_URL'];

type Env = Record<string, string | undefined>;
const root = path.resolve(__dirname, '..');
const noteIn = (dataDir: string): string => path.join(dataDir, NOTE);

/** Written by scripts/dev.ts once the stack is ready; removed when it stops. */
export function writeDevStackNote(dataDir: string, env: Env): () => void {
  const settings = Object.fromEntries(SHARED.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));
  const file = noteIn(dataDir);
  writeFileSync(file, `${JSON.stringify({ pid: process.pid, settings }, null, 2)}\n`);
  return () => rmSync(file, { force: true });
}

function alive(pid: unknown): boolean {
  if (typeof pid !== 'number') return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * `env` with the running dev stack's settings under it (its own values win), and the pid of that
 * stack; `env` as it is when the sandbox opt-in is already decided there (NIU_SANDBOX set) or no
 * dev stack of this checkout runs.
 */
export function besideDevStack(env: Env = process.env): { env: Env; devStackPid: number | null } {
  if (env.NIU_SANDBOX !== undefined) return { env, devStackPid: null };
  const file = noteIn(path.resolve(root, env.DATA_DIR || '.data'));
  if (!existsSync(file)) return { env, devStackPid: null };
  try {
    const note = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; settings?: Env };
    if (!alive(note.pid)) return { env, devStackPid: null };
    return { env: { ...note.settings, ...env }, devStackPid: note.pid as number };
  } catch {
    return { env, devStackPid: null }; // a note being written or torn: as if none
  }
}
