// The lint rule that keeps workflow code deterministic (eslint.config.mjs): Node built-ins, I/O
// libraries and runtime imports of activities are refused under workflows/, allowed elsewhere.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

/** Lints `code` as if it were `file`, with the project's own eslint and configuration (a child
 *  process: the flat config is an ES module, which jest's module loader cannot import). */
async function messages(file: string, code: string): Promise<string[]> {
  const run = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules/eslint/bin/eslint.js'), '--stdin', '--stdin-filename', file, '--format', 'json'],
    { cwd: root, input: code, encoding: 'utf8' },
  );
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string; message: string }[] }[];
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test.each([
  [
    "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
    /no-restricted-imports: .*Node built-ins/,
  ],
  ["import crypto from 'crypto';\nexport const x = crypto;\n", /no-restricted-imports: .*Node built-ins/],
  [
    "import { createGraphClient } from '../activities/graph';\nexport const x = createGraphClient;\n",
    /import activities by type only/,
  ],
  ["import Fastify from 'fastify';\nexport const x = Fastify;\n", /no I\/O libraries/],
  [
    "export async function f(): Promise<unknown> {\n  return fetch('https://example.test');\n}\n",
    /no-restricted-globals/,
  ],
])('workflow code may not use %j', async (code, expected) => {
  expect((await messages('workflows/lint-probe.ts', code)).join('\n')).toMatch(expected);
});

test('type-only imports of activities and the workflow SDK are fine in workflows/, and built-ins elsewhere', async () => {
  const typeImport =
    "import type { createGraphClient } from '../activities/graph';\nimport { sleep } from '@temporalio/workflow';\n" +
    'export type G = typeof createGraphClient;\nexport const s = sleep;\n';
  expect(await messages('workflows/lint-probe.ts', typeImport)).toEqual([]);
  expect(
    await messages(
      'activities/lint-probe.ts',
      "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n",
    ),
  ).toEqual([]);
});
