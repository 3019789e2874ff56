// The API process (api/main.ts): listens where configured and, on SIGTERM, lets an in-flight
// request finish before it exits 0.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort, waitForPort } from '../../scripts/ports';
import { call } from '../helpers/api';

const root = path.resolve(__dirname, '../..');

test('SIGTERM: the in-flight request is answered, then the process exits 0', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      NIU_SANDBOX: 'true',
      API_PORT: String(port),
      // Nothing listens there: /readyz takes the full connect timeout, a request "in flight".
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      TEMPORAL_CONNECT_TIMEOUT_MS: '2500',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => (output += String(c)));
  child.stderr.on('data', (c) => (output += String(c)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitForPort(port, '127.0.0.1', 30_000);
    expect((await call(`http://127.0.0.1:${port}`, 'GET', '/healthz')).status).toBe(200);

    const inFlight = call(`http://127.0.0.1:${port}`, 'GET', '/readyz');
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(503);
    expect((res.body as { type: string }).type).toMatch(/temporal-unavailable/);
    expect(await exited).toBe(0);
    expect(output).toMatch(/shutting down/);
    // Closed: nothing listens any more.
    await expect(call(`http://127.0.0.1:${port}`, 'GET', '/healthz')).rejects.toThrow();
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
