// GET /v1/environments/{environment}/readiness over real HTTP, against a stack of its own (the
// jest run's Temporal dev server, the sandbox, a real worker with the sandbox's vault and an
// environments file with one more environment whose Dataverse URL no admin environment has, the
// API on a real port): every check passes with the defaults, the same checks as the doctor's;
// each prerequisite taken away in turn (test/helpers/preflight.ts) fails exactly its check; 404
// for an unknown environment; 503 within its bound when no worker answers.
import { runPreflight } from '../../activities/preflight';
import { call } from '../helpers/api';
import { expectProblem } from '../helpers/api-app';
import { useApiStack, withApiWithoutWorker } from '../helpers/api-stack';
import { ALTERNATIVES, PROD, REMOVALS, STRAY, TEST, strayEnvironmentsFile } from '../helpers/preflight';

const e2e = useApiStack({
  name: 'readiness',
  env: (sandbox) => ({ KEYVAULT_URL: sandbox.url, ENVIRONMENTS_FILE: strayEnvironmentsFile(sandbox.url) }),
});

interface Readiness {
  ready: boolean;
  checks: { name: string; ok: boolean; detail: string; fix: string | null }[];
}

const readiness = (environment: string, token = e2e.reader) =>
  e2e.api<Readiness>('GET', `/v1/environments/${environment}/readiness`, { token });

const failedNames = (body: Readiness) => body.checks.filter((c) => !c.ok).map((c) => c.name);

beforeEach(async () => {
  await e2e.stack.control.reset();
});

describe('readiness', () => {
  test.each([PROD, TEST])(
    '%s: every check passes with the defaults, the same checks as the doctor, for a reader',
    async (environment) => {
      const res = await readiness(environment);
      expect(res.status).toBe(200);
      expect(failedNames(res.body)).toEqual([]);
      expect(res.body.ready).toBe(true);
      for (const check of res.body.checks) {
        expect(Object.keys(check).sort()).toEqual(['detail', 'fix', 'name', 'ok']);
        expect(check.fix).toBeNull();
      }
      const doctor = await runPreflight(e2e.stack.worker.config, { environment });
      expect(res.body.checks.map((c) => [c.name, c.ok])).toEqual(doctor.checks.map((c) => [c.name, c.ok]));
      expect(res.body.checks.map((c) => c.name)).toEqual(
        expect.arrayContaining(['key-vault', 'management-app', 'dataverse-security-role', 'non-interactive-limit']),
      );
      expect(res.body.checks).toHaveLength(15);
    },
  );

  test.each(REMOVALS.map((r) => [r.removes, r] as const))('without %s exactly its check fails', async (_, removal) => {
    await removal.arrange(e2e.stack.control, e2e.stack.sandbox);
    const res = await readiness(removal.environment);
    expect(res.status).toBe(200);
    const expected = removal.fails
      .map((f) => f.split('@') as [string, string?])
      .filter(([, env]) => env === undefined || env === removal.environment)
      .map(([name]) => name);
    expect(failedNames(res.body)).toEqual(expected);
    expect(res.body.ready).toBe(false);
    for (const failed of res.body.checks.filter((c) => !c.ok)) {
      expect(failed.fix).toEqual(expect.any(String));
      for (const held of removal.notRun ?? []) expect(failed.detail).toContain(held);
    }
    for (const held of removal.notRun ?? []) expect(res.body.checks.map((c) => c.name)).not.toContain(held);
  });

  test.each(ALTERNATIVES.map((a) => [a.uses, a] as const))('%s: ready', async (_, alternative) => {
    await alternative.arrange(e2e.stack.control);
    const res = await readiness(PROD);
    expect(failedNames(res.body)).toEqual([]);
  });

  test(`${STRAY} fails only its admin-environment check; ${PROD} beside it is ready`, async () => {
    expect((await readiness(PROD)).body.ready).toBe(true);
    expect(failedNames((await readiness(STRAY)).body)).toEqual(['admin-environment']);
  });

  test('404 for an unknown environment; 401 without a token', async () => {
    expectProblem(await readiness('fabrikam-prod'), 404);
    expectProblem(await readiness(PROD, ''), 401);
  });

  test('503 within its bound when no worker answers (a task queue no worker polls)', async () => {
    await withApiWithoutWorker(e2e.stack, { service: { readinessTimeoutMs: 2_000 } }, async (url) => {
      const res = await call(url, 'GET', `/v1/environments/${PROD}/readiness`, { token: e2e.reader });
      const problem = expectProblem(res, 503);
      expect(problem.type).toMatch(/readiness-unavailable/);
      expect(res.headers.get('retry-after')).toBeTruthy();
      expect(res.ms).toBeLessThan(2_000 + 5_000);
    });
  });
});
