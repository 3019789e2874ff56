// Starts one Temporal dev server for the whole test run (on free ports, a fresh SQLite file)
// and bundles the workflow code once. Test files read what they need from the environment
// variables set here: jest's test workers are started after this and inherit them.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/ports';
import { startDevServer, type DevServer } from '../../scripts/temporal-server';
import { NAMESPACES } from './namespaces';
import { bundleWorkflowsOnce } from './workflow-bundle';

declare global {
  var __NIU_DEV_SERVER__: DevServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niu-test-'));
  const [port, uiPort] = [await freePort(), await freePort()];
  const server = await startDevServer({
    port,
    uiPort,
    dbFile: path.join(dir, 'temporal.db'),
    extraNamespaces: Object.values(NAMESPACES),
  });
  globalThis.__NIU_DEV_SERVER__ = server;
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.NIU_TEST_TEMPORAL_UI = server.uiUrl;
  process.env.NIU_TEST_TEMPORAL_DB = path.join(dir, 'temporal.db');
  process.env.NIU_TEST_DIR = dir;

  await bundleWorkflowsOnce(dir);
}
