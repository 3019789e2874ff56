// `admission`: ONE long-lived entity workflow per task queue (id `niu-admission`) that admits
// provisioning runs to their account's lock and a slot of their environment's limit, and other
// runs to the account's lock alone (workflows/account-lock.ts). The rules
// are in workflows/admission-rules.ts; this workflow passes messages to them, does the I/O they
// need (local activities), and carries their state across continue-as-new.
//
// Messages: a run sends `admit` by signal-with-start from a local activity, and the entity answers
// with an `admission` signal, sent with the client from a local activity (activities/entities.ts
// says why), in batches: one workflow task and one read per environment for every request that
// arrived meanwhile. A run gives back its slot or everything with `releaseAdmission`.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { admissionReservationsQuery, admitSignal, releaseAdmissionSignal } from './definitions';
import { closedRuns, deliverAdmissions, readEnvironmentCapacity } from './entity-local-activities';
import { accountOf, AdmissionRules, needsSlot, type AdmissionState, type RunRef } from './admission-rules';
import { WorkflowMutex } from './mutex';
import type { AdmissionMessage, AdmissionRequest, EnvironmentCapacity } from './types';

export type { AdmissionState } from './admission-rules';

/** History length at which the entity starts afresh (well below the server's limits). */
const MAX_HISTORY = 2_000;
/** How often the entity checks, while some run waits for a lock, that the lock's holder still runs. */
const HOLDER_CHECK_INTERVAL = '1 minute';
/** A batch whose read failed for good is decided again this much later. */
const RETRY_DECISIONS_AFTER = '5 seconds';

type Answer = { request: AdmissionRequest; message: AdmissionMessage };

export async function admission(state: AdmissionState = {}): Promise<void> {
  const rules = new AdmissionRules(state);
  const mutex = new WorkflowMutex();
  // Requests arrived since the last decision; the first arrival books a turn behind the mutex
  // and later ones ride along (one batch, one read per environment).
  const arrived: AdmissionRequest[] = [];
  const book = mutex.batched(() => decideBatch());
  let retryLater: AdmissionRequest[] = [];
  /** Runs whose account became free are decided in the next batch. */
  const passOn = (): void => {
    const ready = rules.takeReady();
    if (ready.length === 0) return;
    arrived.push(...ready);
    book();
  };

  /** Forgets the runs among these that have closed: they never use or release what they hold. */
  const forgetClosed = async (runs: RunRef[]): Promise<number> => {
    if (runs.length === 0) return 0;
    const gone = await closedRuns({ runs });
    for (const id of gone) rules.forget(id);
    return gone.length;
  };

  const decideBatch = async (): Promise<void> => {
    const batch = arrived.splice(0);
    const answers: Answer[] = [];
    const read = new Map<string, EnvironmentCapacity>(); // this batch's reads
    const figures = async (environment: string): Promise<EnvironmentCapacity> => {
      let f = read.get(environment) ?? rules.recentRead(environment, Date.now());
      if (!f) {
        f = await readEnvironmentCapacity({ environment });
        rules.recordRead(environment, f, Date.now());
      }
      read.set(environment, f);
      return f;
    };
    let lookedForClosed = false;
    try {
      for (const req of batch) {
        rules.dropStale(req);
        const holder = rules.holderToCheck(req);
        if (holder) await forgetClosed([holder]);
        const position = rules.queue(req);
        const lockOnly = !needsSlot(req);
        if (position !== null) {
          const account = lockOnly ? { account: accountOf(req) } : {};
          answers.push({
            request: req,
            message: { requestId: req.requestId, outcome: 'queued', position, ...account },
          });
          continue;
        }
        if (lockOnly) {
          // The lock alone: nothing to count, so no read and no refusal.
          rules.grantLock(req);
          answers.push({
            request: req,
            message: { requestId: req.requestId, outcome: 'locked', account: accountOf(req) },
          });
          continue;
        }
        let f = await figures(req.environment);
        if (rules.full(req, f) && !lookedForClosed) {
          // Before refusing, once a batch: a holder terminated from outside never released its slot.
          lookedForClosed = true;
          if ((await forgetClosed(rules.slotHolders())) > 0) {
            read.clear(); // the count may have moved while we looked (a holder's last PATCH)
            f = await figures(req.environment);
          }
        }
        const decision = rules.decide(req, f);
        answers.push({ request: req, message: { requestId: req.requestId, outcome: 'decided', decision } });
      }
    } catch (err) {
      // A read failed for good: the rest of the batch is decided again a little later.
      log.warn('capacity could not be read; deciding again later', { error: String(err) });
      retryLater.push(...batch.slice(answers.length));
    }
    if (answers.length > 0) await deliver(answers);
    passOn();
    if (retryLater.length > 0) {
      const again = retryLater;
      retryLater = [];
      await sleep(RETRY_DECISIONS_AFTER);
      arrived.unshift(...again);
      book();
    }
  };

  const deliver = async (answers: Answer[]): Promise<void> => {
    try {
      // Runs that are gone (terminated) never use or release what they were given.
      for (const id of await deliverAdmissions({ answers })) rules.forget(id);
    } catch (err) {
      // Not delivered for good (Temporal unreachable, the worker stopping): decided again later;
      // a holder is answered with what it holds, and a run takes the first decision it gets.
      log.warn('admission answers could not be delivered; deciding again later', { error: String(err) });
      retryLater.push(...answers.map(({ request }) => request));
    }
  };

  setHandler(admitSignal, (req) => {
    // A retried local activity may send the same request twice; one answer is enough.
    if (arrived.some((q) => q.runId === req.runId)) return;
    arrived.push(req);
    book();
  });
  // Releases queue behind a decision in flight. A holder releases its slot right after its
  // access mode became 4; dropping it while a decision holds a count read before that PATCH
  // would count the holder nowhere and grant one slot too many. Behind the mutex, the next
  // decision reads a count that includes it.
  setHandler(releaseAdmissionSignal, (release) =>
    mutex.run(async () => {
      rules.release(release);
      passOn();
    }),
  );
  setHandler(admissionReservationsQuery, (environment) => rules.reservations(environment));

  const tooLong = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY;
  while (!tooLong()) {
    if (!rules.anyoneWaiting) {
      await condition(() => tooLong() || rules.anyoneWaiting);
      continue;
    }
    // Someone waits for a lock: check now and then that its holder still runs.
    if (await condition(tooLong, HOLDER_CHECK_INTERVAL)) break;
    await mutex.run(async () => {
      try {
        await forgetClosed(rules.holdersOfWaitedAccounts());
      } catch (err) {
        // Not known now (Temporal unreachable, the worker stopping): look again next interval.
        log.warn('could not check the lock holders; checking again later', { error: String(err) });
      }
      passOn();
    });
  }
  await condition(() => mutex.idle && arrived.length === 0 && allHandlersFinished());
  await continueAsNew<typeof admission>(rules.state());
}
