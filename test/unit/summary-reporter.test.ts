// CI reads a run's closing line, "N passed, N failed"; jest's own summary has another form. This
// runs a real jest on a throwaway suite with the project's reporter list and reads the last line
// of its stdout (jest writes its own summary to stderr).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const jestConfig = require('../../jest.config.js') as { reporters: string[] };

function runJest(files: Record<string, string>): { output: string; status: number | null } {
  const dir = mkdtempSync(path.join(tmpdir(), 'niu-reporter-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const reporters = jestConfig.reporters.map((r) => r.replace('<rootDir>', root));
    const config = { rootDir: dir, testMatch: ['**/*.test.js'], reporters, transform: {} };
    const run = spawnSync(
      process.execPath,
      [require.resolve('jest/bin/jest'), '--config', JSON.stringify(config), '--ci', '--runInBand'],
      { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FORCE_COLOR: '0' } },
    );
    return { output: run.stdout, status: run.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the closing line counts passed, failed (a suite that cannot run is one) and skipped tests', () => {
  const run = runJest({
    'a.test.js':
      "test('ok 1', () => {}); test('ok 2', () => {}); test('bad', () => { throw new Error('x'); }); test.skip('later', () => {}); test.todo('some day');",
    'b.test.js': "throw new Error('this suite does not load');",
  });
  expect(run.status).toBe(1);
  const lines = run.output.trim().split('\n');
  expect(lines.at(-1)).toBe('tests: 2 passed, 2 failed, 2 skipped');
});

test('a clean run closes with 0 failed', () => {
  const run = runJest({ 'a.test.js': "test('ok', () => {});" });
  expect(run.status).toBe(0);
  expect(run.output.trim().split('\n').at(-1)).toBe('tests: 1 passed, 0 failed, 0 skipped');
});
