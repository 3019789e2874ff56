// The dev stack behind `npm start`: the Temporal dev server (SQLite in .data, Web UI on :8233,
// search attributes registered), the sandbox, the worker and the API, wired together with no
// configuration and with prefixed logs. Ctrl-C (or SIGTERM) stops every child: each runs in its
// own process group, which is signalled as a whole, so no grandchild is left behind.
import path from 'node:path';
import { writeDevStackNote } from '../config/dev-stack';
import { WORKER_NODE_FLAGS, workerAllocatorEnv } from '../worker/node-flags';
import { waitForPort } from './ports';
import {
  loopbackTemporalPort,
  onStop,
  print,
  runStack,
  sandboxStackEnv,
  startNode,
  stopStackOnExit,
  printUnlessStopping,
} from './stack';
import { startDevServer } from './temporal-server';

async function main(): Promise<void> {
  // Payload encryption on, with the UI decoding through the API's codec endpoint.
  const uiPort = Number(process.env.TEMPORAL_UI_PORT ?? 8233);
  const { config, env, caFile } = await sandboxStackEnv([`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`]);
  const port = loopbackTemporalPort(config);
  print(
    'stack',
    `starting Temporal dev server on ${config.temporal.address} (data: ${path.join(config.dataDir, 'temporal.db')})`,
  );
  const temporal = await startDevServer({
    port,
    uiPort,
    dbFile: path.join(config.dataDir, 'temporal.db'),
    extraArgs: ['--ui-codec-endpoint', `${config.api.publicUrl}/codec`],
    namespace: config.temporal.namespace,
    // The dev server's own shutdown chatter (its internal pollers losing the frontend) is noise.
    onLog: (line) => printUnlessStopping('temporal', line),
  });
  onStop(() => temporal.stop());
  stopStackOnExit('temporal', temporal.process);

  startNode('sandbox', 'sandbox/main.ts', env);
  await waitForPort(config.sandbox.port, '127.0.0.1', 60_000);
  startNode('worker', 'worker/main.ts', { ...env, ...workerAllocatorEnv(env) }, WORKER_NODE_FLAGS);
  startNode('api', 'api/main.ts', env);
  await waitForPort(config.api.port, config.api.host, 60_000);

  onStop(writeDevStackNote(config.dataDir, env));
  const api = config.api.publicUrl;
  print(
    'stack',
    [
      'ready:',
      `  API            ${api}/v1   (OpenAPI ${api}/openapi.json, docs ${api}/docs)`,
      `  Temporal UI    ${temporal.uiUrl}   (payloads encrypted, decoded through ${api}/codec; key in ${path.join(config.dataDir, 'codec-keys')})`,
      `  Temporal gRPC  ${temporal.address}   (.tools/bin/temporal workflow list --address ${temporal.address})`,
      `  Sandbox        ${config.sandbox.url}   (state: ${config.sandbox.url}/_sandbox/state, CA: ${caFile})`,
      '  Token          curl -s --cacert ' +
        `${caFile} ${config.sandbox.url}/${config.microsoft.tenantId}/oauth2/v2.0/token ` +
        '-d grant_type=client_credentials -d client_id=operator-client -d client_secret=operator-secret ' +
        '-d scope=api://noninteractive-users/.default | jq -r .access_token',
      '  Try it         npm run request -- create --environment contoso-prod --upn svc-erp@contoso.onmicrosoft.com --display-name "ERP integration"',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
}

runStack(main);
