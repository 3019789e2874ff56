// How the entity activities (activities/entities.ts) call the Temporal client and pass on what
// it throws. A dropped update cannot be provoked on demand against a real server (it takes the
// server evicting the entity from its history cache), so the client here is a stand-in that
// throws the error shapes the real one does; the activity runs in the SDK's mock activity context.
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { entityActivities } from '../../activities/entities';
import { loadConfig } from '../../config';

/** An error shaped like the client's gRPC errors (isGrpcServiceError). */
function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
}

/** A client whose update-with-start does `update`. */
function clientThat(update: () => Promise<unknown>): () => Promise<Client> {
  const client = {
    withAbortSignal: (_signal: AbortSignal, fn: () => Promise<unknown>) => fn(),
    workflow: { executeUpdateWithStart: update },
  };
  return async () => client as unknown as Client;
}

const input = {
  environment: 'contoso-prod',
  requestId: 'niu:contoso-prod:a@contoso.onmicrosoft.com',
  userPrincipalName: 'a@contoso.onmicrosoft.com',
};
const info = { startToCloseTimeoutMs: 60_000, attempt: 3 };

async function reserveWith(update: () => Promise<unknown>, env = new MockActivityEnvironment(info)): Promise<unknown> {
  const { reserveCapacity } = entityActivities(loadConfig({}), clientThat(update));
  return env.run(reserveCapacity, input).then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

test('a failure, a dropped update included, goes to the retry policy unchanged; an answer comes back as it is', async () => {
  for (const err of [grpcError(3, 'invalid argument'), grpcError(14, 'workflow update was aborted')]) {
    expect(await reserveWith(() => Promise.reject(err))).toEqual({ error: err });
  }
  const decision = { granted: true, limit: 7, used: 1, reserved: 0 };
  expect(await reserveWith(() => Promise.resolve(decision))).toEqual({ value: decision });
});

test('the update id changes with the attempt: a retry is not answered with the outcome stored for the last one', async () => {
  const ids: string[] = [];
  const { reserveCapacity } = entityActivities(
    loadConfig({}),
    clientThat(async (...args: unknown[]) => {
      ids.push((args[1] as { updateId: string }).updateId);
      return { granted: true };
    }),
  );
  await new MockActivityEnvironment({ ...info, attempt: 1 }).run(reserveCapacity, input);
  await new MockActivityEnvironment({ ...info, attempt: 2 }).run(reserveCapacity, input);
  expect(ids).toHaveLength(2);
  expect(ids[0]).not.toBe(ids[1]);
});
