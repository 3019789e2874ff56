// The property-based campaign: Schemathesis (PyPI, pinned below; .ci/run installs it) generates
// requests from the API's own OpenAPI document, valid and invalid, and sends them with a valid
// operator token to the started stack (sandbox, worker, API over real HTTP, encryption on).
// Checks: no 5xx, every answer's content type and body match what the document declares for
// its status, and no status the document does not list. Bounded: examples per operation and a
// time budget; the number of cases run is printed and must be substantial.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NAMESPACES } from '../helpers/namespaces';
import { useStack } from '../helpers/lifecycle';

export const SCHEMATHESIS_VERSION = '4.32.5';
const MAX_EXAMPLES = Number(process.env.NIU_FUZZ_MAX_EXAMPLES ?? 40);
const MAX_TIME_S = Number(process.env.NIU_FUZZ_MAX_TIME_S ?? 150);

jest.setTimeout((MAX_TIME_S + 120) * 1000);

const stack = useStack({
  namespace: NAMESPACES.fuzzOpenapi,
  name: 'fuzz',
  encrypt: true,
  apiEnv: { API_RATE_LIMIT_PER_MINUTE: '1000000' },
});

function run(cmd: string, args: string[], cwd = os.tmpdir()): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Run outside the checkout: schemathesis keeps a .schemathesis/ cache in its working folder.
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1', PYTHONIOENCODING: 'utf-8' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

test('schemathesis: no 5xx and no answer outside the documented schema', async () => {
  const version = await run('python3', ['-m', 'schemathesis.cli', '--version']).catch(() => ({ code: 1, output: '' }));
  if (version.code !== 0 || !version.output.includes(SCHEMATHESIS_VERSION)) {
    throw new Error(
      `schemathesis ${SCHEMATHESIS_VERSION} is not installed: python3 -m pip install schemathesis==${SCHEMATHESIS_VERSION}\n${version.output}`,
    );
  }
  const token = await stack.operatorToken();
  const reportDir = mkdtempSync(path.join(os.tmpdir(), 'niu-fuzz-'));
  const ndjson = path.join(reportDir, 'events.ndjson');
  const started = Date.now();
  const result = await run(
    'python3',
    [
      '-m',
      'schemathesis.cli',
      'run',
      `${stack.apiUrl}/openapi.json`,
      '--url',
      stack.apiUrl,
      '-H',
      `Authorization: Bearer ${token}`,
      '--checks',
      'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance',
      '--max-examples',
      String(MAX_EXAMPLES),
      '--max-time',
      String(MAX_TIME_S),
      '--phases',
      'examples,coverage,fuzzing',
      // One worker: Schemathesis runs its workers as threads, and Hypothesis parsing lambdas' source
      // in two threads at once trips a CPython 3.11 bug ("SystemError: AST constructor recursion
      // depth mismatch") that ends the run with a runtime error, whatever the API answered.
      '--workers',
      '1',
      '--request-timeout',
      '20',
      '--seed',
      String(Number(process.env.NIU_FUZZ_SEED ?? Date.now() % 100000)),
      '--report',
      'ndjson',
      '--report-ndjson-path',
      ndjson,
      '--output-truncate',
      'true',
    ],
    reportDir,
  );
  // The whole summary goes to the test output: it names every failing operation and a curl line.
  // Its pytest-style banner lines are left out: its closing one ("=== 1 warning in 150.01s ===")
  // reads as a pytest run that executed no test to a reader of the run's output, such as CI.
  const summary = result.output
    .split('\n')
    .slice(-80)
    .filter((line) => !PYTEST_BANNER.test(line))
    .join('\n');
  const cases = countCases(readFileSync(ndjson, 'utf8'));
  process.stdout.write(
    `schemathesis ${SCHEMATHESIS_VERSION}: ${cases} cases in ${Math.round((Date.now() - started) / 1000)} s\n${summary}\n`,
  );
  expect({ exit: result.code, summary: result.code === 0 ? '' : summary }).toEqual({ exit: 0, summary: '' });
  expect(cases).toBeGreaterThan(100);
});

/** A line framed in `=` signs, as pytest (and Schemathesis after it) writes its section and closing lines. */
const PYTEST_BANNER = /^\s*={3,}.*={3,}\s*$/;

/** Test cases (requests) that Schemathesis ran, from its NDJSON event stream. */
function countCases(ndjson: string): number {
  let cases = 0;
  for (const line of ndjson.split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as Record<string, unknown>;
    const finished = event.ScenarioFinished as { recorder?: { cases?: Record<string, unknown> } } | undefined;
    if (finished?.recorder?.cases) cases += Object.keys(finished.recorder.cases).length;
  }
  return cases;
}
