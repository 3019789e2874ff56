// Replay of histories recorded from real runs (committed under test/fixtures/) against today's
// workflow code, so a change that breaks determinism fails here. Until 1.0 a change to the
// workflows records them again (docs/operations.md, upgrading workflow code) with:
//   NIU_RECORD_HISTORY=1 bash scripts/test.sh test/integration/workflow-replay
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import {
  installRuntime,
  provisionInput,
  sandboxControl,
  startProvision,
  startTestWorker,
  stepStatus,
  testTaskQueue,
  waitForStatus,
} from '../helpers/worker';
import { startTestSandbox } from '../helpers/sandbox';
import { FAST_TIMING } from '../helpers/worker';
import type { ProvisionResult } from '../../workflows/types';
import {
  DEPROVISION_WORKFLOW_TYPE,
  ROTATE_PASSWORD_WORKFLOW_TYPE,
  deprovisionWorkflowIdFor,
  rotationWorkflowIdFor,
} from '../../workflows/lifecycle-types';

const fixtures = path.resolve(__dirname, '../fixtures');
const HISTORIES = {
  succeeded: path.join(fixtures, 'provision-succeeded.history.json'),
  cancelled: path.join(fixtures, 'provision-cancelled.history.json'),
  rotation: path.join(fixtures, 'rotate-password.history.json'),
  deprovisioning: path.join(fixtures, 'deprovision.history.json'),
  // The admission entity as the runs above left it (still running: replayed up to there), with
  // lock-only requests (the rotation's and the deprovisioning's) among them.
  'admission entity': path.join(fixtures, 'admission.history.json'),
};
const bundle = () => ({ workflowBundle: { codePath: process.env.NIU_TEST_WORKFLOW_BUNDLE! } });

if (process.env.NIU_RECORD_HISTORY === '1') {
  test('record: a succeeded run with roles and a revert, its rotation and deprovisioning, and a run cancelled during the wait', async () => {
    const sandbox = await startTestSandbox();
    const control = sandboxControl(sandbox.url);
    const tw = await startTestWorker({ sandboxUrl: sandbox.url, taskQueue: testTaskQueue('record') });
    try {
      await control.config({ syncDelayMs: 400, licensePropagationMs: 200, revertWindowMs: 60_000 });
      const upn = 'svc-recorded@contoso.onmicrosoft.com';
      const ok = await startProvision(tw, provisionInput(upn, { securityRoles: ['Basic User'] }));
      const { entraObjectId } = (await ok.result()) as ProvisionResult;
      writeFileSync(HISTORIES.succeeded, historyToJSON(await ok.fetchHistory()));
      const user = { environment: 'contoso-prod', userPrincipalName: upn, entraObjectId, timing: FAST_TIMING };
      const rotation = await tw.client.workflow.start(ROTATE_PASSWORD_WORKFLOW_TYPE, {
        taskQueue: tw.taskQueue,
        workflowId: rotationWorkflowIdFor('contoso-prod', upn),
        args: [user],
      });
      await rotation.result();
      writeFileSync(HISTORIES.rotation, historyToJSON(await rotation.fetchHistory()));
      const deprovisioning = await tw.client.workflow.start(DEPROVISION_WORKFLOW_TYPE, {
        taskQueue: tw.taskQueue,
        workflowId: deprovisionWorkflowIdFor('contoso-prod', upn),
        args: [{ ...user, deleteAccount: true }],
      });
      await deprovisioning.result();
      writeFileSync(HISTORIES.deprovisioning, historyToJSON(await deprovisioning.fetchHistory()));

      await control.config({ syncDelayMs: 3_600_000, licensePropagationMs: 3_600_000 });
      const cancelled = await startProvision(tw, provisionInput('svc-recorded-cancel@contoso.onmicrosoft.com'));
      await waitForStatus(cancelled, (d) => stepStatus(d, 'await-dataverse-user') === 'waiting');
      await cancelled.cancel();
      await cancelled.result().catch(() => undefined);
      writeFileSync(HISTORIES.cancelled, historyToJSON(await cancelled.fetchHistory()));
      const entity = tw.client.workflow.getHandle(`niu-admission@${tw.taskQueue}`);
      writeFileSync(HISTORIES['admission entity'], historyToJSON(await entity.fetchHistory()));
    } finally {
      await tw.stop();
      await sandbox.close();
    }
  }, 60_000);
}

describe('replay of recorded histories', () => {
  beforeAll(installRuntime);

  for (const [name, file] of Object.entries(HISTORIES)) {
    test(`${name}: today's workflow code replays it without non-determinism`, async () => {
      expect(existsSync(file)).toBe(true);
      const history = JSON.parse(readFileSync(file, 'utf8'));
      await Worker.runReplayHistory(bundle(), history);
    });
  }

  test('the check has teeth: a history whose commands differ from the code is rejected', async () => {
    const history = JSON.parse(readFileSync(HISTORIES.succeeded, 'utf8')) as {
      events: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[];
    };
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes);
    scheduled!.activityTaskScheduledEventAttributes!.activityType!.name = 'someOtherActivity';
    await expect(Worker.runReplayHistory(bundle(), history)).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
