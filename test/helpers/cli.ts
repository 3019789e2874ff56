// Runs the command-line client (cli/main.ts, `npm run request`) as a child process with the
// given environment (a stack's), for the end-to-end tests of its commands.
import { execFile } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(env: Record<string, string>, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', ...args],
      { cwd: root, env: { ...process.env, ...env, NIU_POLL_MS: '200' }, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({
          code: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });
}
