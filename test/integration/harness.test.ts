// Proves the test harness: the dev server started by global setup runs a workflow through a
// real worker (bundled here), including an activity retry; a dev server that fails to start is
// retried once and reported with its output.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { startDevServer } from '../../scripts/temporal-server';
import { freePort } from '../../scripts/ports';

// The activity's deliberate first failure would log a warning with a stack: keep output quiet.
Runtime.install({ logger: new DefaultLogger('ERROR') });

test('a workflow runs on the real dev server through a real worker, with an activity retry', async () => {
  const address = process.env.TEMPORAL_ADDRESS;
  expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const taskQueue = `harness-${randomUUID()}`;
  let calls = 0;
  const workerConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: workerConnection,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: require.resolve('../fixtures/harness-workflows'),
      logger: new DefaultLogger('WARN'),
    }),
    activities: {
      async flaky(name: string) {
        calls += 1;
        if (calls < 2) throw new Error('transient failure, retried by Temporal');
        return `hello ${name}`;
      },
    },
  });
  try {
    const result = await worker.runUntil(
      client.workflow.execute('greet', { taskQueue, workflowId: `harness-${randomUUID()}`, args: ['harness'] }),
    );
    expect(result).toBe('hello harness!');
    expect(calls).toBe(2);
  } finally {
    await connection.close();
    await workerConnection.close();
  }
});

test('a dev server that exits before serving is started once more, then reported with its last output', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niu-harness-'));
  const lines: string[] = [];
  const [port, uiPort] = [await freePort(), await freePort()];
  const started = startDevServer({
    port,
    uiPort,
    dbFile: path.join(dir, 'temporal.db'),
    extraArgs: ['--no-such-flag'],
    onLog: (line) => lines.push(line),
  });
  await expect(started).rejects.toThrow(/exited with code \d+; its last output:[\s\S]*no-such-flag/);
  expect(lines.filter((l) => l.includes('starting it once more'))).toHaveLength(1);
});
