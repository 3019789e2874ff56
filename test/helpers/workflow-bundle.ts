// The workflow code bundled once per test run (webpack, through the SDK), with the worker's
// failure converter: jest's module mocks cannot reach workflow code anyway, and each worker
// started with the bundle skips seconds of bundling. Both global setups (the dev server's and
// the cluster's) call this; the second finds the bundle the first made.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../../worker/codec';

/** Bundles into `dir` unless a bundle is already set for the run; NIU_TEST_WORKFLOW_BUNDLE names it. */
export async function bundleWorkflowsOnce(dir: string): Promise<void> {
  if (process.env.NIU_TEST_WORKFLOW_BUNDLE) return;
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    // The same failure converter as the worker's (worker/codec.ts): failure messages go into payloads.
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  process.env.NIU_TEST_WORKFLOW_BUNDLE = bundlePath;
}
