// Proves the test harness: the dev server started by global setup runs a workflow through a
// real worker (bundled here), including an activity retry.
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';

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
