// `admission`: ONE long-lived entity workflow per task queue (id `niu-admission`) that admits
// provisioning runs: the per-account lock and the per-environment non-interactive user slots.
//
// Why a lock per account: the same account may be requested for several environments at once.
// They share one Entra account and one license: if the first request removed the license (its
// step 5) while the second still waited for its sync, the second would never sync; if one failed
// and deleted the account, it would pull it from under the other. Requests for one account run
// one after the other, so every run sees a quiet account.
//
// Why slots: the limit is per environment and "read the count, take a slot" must be atomic
// across all requests. A decision reads the live figures (RetrieveOrganizationResources, local
// activity) and grants only if used + reserved < limit. A run holds its slot until it has set
// access mode 4 (from then on Dataverse counts it) or until it ends; between the two it is
// counted twice, which errs on the safe side.
//
// Why one entity for both (it replaced a lock workflow per account and a capacity entity per
// environment, kept for runs started before): every request started a lock workflow by
// update-with-start, a whole second workflow with its own tasks and visibility records, and its
// activity held a slot while the lock answered. 200 requests at once waited 8.6 s (median) for
// that, and the last ones 30 s (bench:profile). Here a run sends `admit` by signal-with-start
// from a local activity, and the entity answers by `admission` signal, sent with the client from
// a local activity (activities/entities.ts says why), in batches: one workflow task and one read
// per environment for every request that arrived meanwhile.
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  patched,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { admissionReservationsQuery, admitSignal, releaseAdmissionSignal } from './definitions';
import { closedRuns, deliverAdmissions, readEnvironmentCapacity } from './entity-local-activities';
import { WorkflowMutex } from './mutex';
import type { AdmissionMessage, AdmissionRequest, CapacityDecision, EnvironmentCapacity } from './types';

export interface AdmissionState {
  /** Lower-case UPN -> the run holding the account's lock. */
  locks?: Record<string, AdmissionRequest>;
  /** Runs waiting for their account's lock, in arrival order. */
  waiting?: AdmissionRequest[];
  /** requestId -> the run holding a slot of its environment. */
  slots?: Record<string, AdmissionRequest>;
}

/** History length at which the entity starts afresh (well below the server's limits). */
const MAX_HISTORY = 2_000;
/** How often the entity checks, while some run waits for a lock, that the lock's holder still runs. */
const HOLDER_CHECK_INTERVAL = '1 minute';
/**
 * A batch decides from the previous batch's read of an environment if it is this young and no
 * release came since (patch REUSE_READ). A burst arrives in several batches, because signals that
 * come while a workflow task runs wait for the next one: 20 requests at once took two, each with
 * its own read (bench:profile). Nothing this service does changes the count without a release
 * following (a run releases its slot right after its mode became 4), so a release makes the next
 * batch read again; a change from outside (an administrator in the portal) is missed for at most
 * this long, as it would be by a read taken this much earlier.
 */
const REUSE_READ_MS = 2_000;
const REUSE_READ = 'admission-reuse-recent-read';

const accountOf = (r: AdmissionRequest): string => r.userPrincipalName.toLowerCase();

export async function admission(state: AdmissionState = {}): Promise<void> {
  const locks = new Map(Object.entries(state.locks ?? {}));
  const waiting: AdmissionRequest[] = [...(state.waiting ?? [])];
  const slots = new Map(Object.entries(state.slots ?? {}));
  const mutex = new WorkflowMutex();
  /** The last read of each environment since the last release (REUSE_READ_MS). */
  const recent = new Map<string, { figures: EnvironmentCapacity; at: number }>();

  // Requests arrived since the last decision; the first arrival books a turn behind the mutex
  // and later ones ride along (one batch, one read per environment).
  const queue: AdmissionRequest[] = [];
  const book = mutex.batched(() => decideBatch());

  /** A free account's first waiting run gets its turn in the next batch. */
  const promote = (account: string): void => {
    if (locks.has(account)) return;
    const next = waiting.findIndex((w) => accountOf(w) === account);
    if (next < 0) return;
    queue.push(...waiting.splice(next, 1));
    book();
  };
  /** Everything a run holds or waits for is given up (it ended, or its run is gone). */
  const forget = (requestId: string): void => {
    recent.clear();
    slots.delete(requestId);
    const index = waiting.findIndex((w) => w.requestId === requestId);
    if (index >= 0) waiting.splice(index, 1);
    for (const [account, holder] of locks) {
      if (holder.requestId !== requestId) continue;
      locks.delete(account);
      promote(account);
    }
  };

  let retryLater: AdmissionRequest[] = [];
  const decideBatch = async (): Promise<void> => {
    const batch = queue.splice(0);
    const answers: { request: AdmissionRequest; message: AdmissionMessage }[] = [];
    const live = new Map<string, EnvironmentCapacity>();
    const figures = async (environment: string): Promise<EnvironmentCapacity> => {
      let f = live.get(environment);
      if (f) return f;
      const last = recent.get(environment);
      if (last && Date.now() - last.at <= REUSE_READ_MS && patched(REUSE_READ)) f = last.figures;
      else {
        f = await readEnvironmentCapacity({ environment });
        recent.set(environment, { figures: f, at: Date.now() });
      }
      live.set(environment, f);
      return f;
    };
    const reservedIn = (environment: string, except: string): number =>
      [...slots.values()].filter((s) => s.environment === environment && s.requestId !== except).length;
    let lookedForGone = false;
    let answered = 0;
    try {
      for (const req of batch) {
        const account = accountOf(req);
        // One run per workflow id runs at a time: an entry of an earlier run of this id is stale.
        const stale = [...locks.values(), ...slots.values(), ...waiting].find(
          (h) => h.requestId === req.requestId && h.runId !== req.runId,
        );
        if (stale) forget(stale.requestId);
        const first = !waiting.some((w) => accountOf(w) === account);
        if (first && locks.has(account) && locks.get(account)!.runId !== req.runId) {
          // The first run to wait for this account: is the holder still running? One terminated
          // from outside never releases (a holder that ends later is caught by the periodic check).
          const { workflowId, runId } = locks.get(account)!;
          for (const id of await closedRuns({ runs: [{ workflowId, runId }] })) forget(id);
        }
        const holder = locks.get(account);
        if (holder && holder.runId !== req.runId) {
          if (!waiting.some((w) => w.runId === req.runId)) waiting.push(req);
          const position = waiting.filter((w) => accountOf(w) === account).findIndex((w) => w.runId === req.runId) + 1;
          answers.push({ request: req, message: { requestId: req.requestId, outcome: 'queued', position } });
          answered++;
          continue;
        }
        const queued = waiting.findIndex((w) => w.runId === req.runId); // asked again while waiting
        if (queued >= 0) waiting.splice(queued, 1);
        let f = await figures(req.environment);
        if (!slots.has(req.requestId)) {
          if (f.used + reservedIn(req.environment, req.requestId) >= f.limit && slots.size > 0 && !lookedForGone) {
            lookedForGone = true;
            // Before refusing: a holder terminated from outside never released its slot.
            const gone = await closedRuns({
              runs: [...slots.values()].map(({ workflowId, runId }) => ({ workflowId, runId })),
            });
            for (const id of gone) forget(id);
            if (gone.length > 0) {
              // Read again: the count may have moved while we looked (a holder's last PATCH).
              live.clear(); // (forget cleared the recent reads)
              f = await figures(req.environment);
            }
          }
        }
        const reserved = reservedIn(req.environment, req.requestId);
        const granted = slots.has(req.requestId) || f.used + reserved < f.limit;
        if (granted) {
          locks.set(account, req);
          slots.set(req.requestId, req);
        } else {
          // Refused: the account stays free, so the next run waiting for it is decided too.
          promote(account);
        }
        const decision: CapacityDecision = { granted, ...f, reserved };
        answers.push({ request: req, message: { requestId: req.requestId, outcome: 'decided', decision } });
        answered++;
      }
    } catch (err) {
      // A read failed for good: the rest of the batch is decided again a little later.
      log.warn('capacity could not be read; deciding again later', { error: String(err) });
      retryLater.push(...batch.slice(answered));
    }
    if (answers.length > 0) await deliver(answers);
    if (retryLater.length > 0) {
      const again = retryLater;
      retryLater = [];
      await sleep('5 seconds');
      queue.unshift(...again);
      book();
    }
  };

  const deliver = async (answers: { request: AdmissionRequest; message: AdmissionMessage }[]): Promise<void> => {
    try {
      // Runs that are gone (terminated) will never use or release what they hold.
      for (const id of await deliverAdmissions({ answers })) forget(id);
    } catch (err) {
      // Not delivered for good (Temporal unreachable, the worker stopping): decide them again
      // later; a holder is answered with what it holds, and a run takes the first decision.
      log.warn('admission answers could not be delivered; deciding again later', { error: String(err) });
      retryLater.push(...answers.map(({ request }) => request));
    }
  };

  setHandler(admitSignal, (req) => {
    // A retried local activity may send the same request twice; one answer is enough.
    if (queue.some((q) => q.runId === req.runId)) return;
    queue.push(req);
    book();
  });
  // Releases queue behind a decision in flight. A holder releases its slot right after its
  // access mode became 4; dropping it while a decision holds a count read before that PATCH
  // would count the holder nowhere and grant one slot too many. Behind the mutex, the next
  // decision reads a count that includes it.
  setHandler(releaseAdmissionSignal, ({ requestId, runId, lock }) =>
    mutex.run(async () => {
      const held = slots.get(requestId) ?? [...locks.values()].find((h) => h.requestId === requestId);
      if (held && held.runId !== runId) return; // a release from an earlier run of this id
      recent.clear();
      if (lock) forget(requestId);
      else slots.delete(requestId);
    }),
  );
  setHandler(admissionReservationsQuery, (environment) => {
    const holders = [...slots.values()].filter((s) => !environment || s.environment === environment);
    return { reserved: holders.length, holders: holders.map((h) => h.requestId) };
  });

  const tooLong = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > MAX_HISTORY;
  while (!tooLong()) {
    if (waiting.length === 0) {
      await condition(() => tooLong() || waiting.length > 0);
      continue;
    }
    // Someone waits for a lock: check now and then that its holder still runs (a run terminated
    // from outside never releases).
    if (await condition(tooLong, HOLDER_CHECK_INTERVAL)) break;
    await mutex.run(async () => {
      const accounts = [...new Set(waiting.map(accountOf))];
      for (const account of accounts) promote(account); // a free account nobody was told of
      const holders = accounts.flatMap((a) => (locks.has(a) ? [locks.get(a)!] : []));
      if (holders.length === 0) return;
      try {
        const gone = await closedRuns({ runs: holders.map(({ workflowId, runId }) => ({ workflowId, runId })) });
        for (const id of gone) {
          log.warn('lock holder ended without releasing; passing the lock on', { requestId: id });
          forget(id);
        }
      } catch (err) {
        // Not known now (Temporal unreachable, the worker stopping): look again next interval.
        log.warn('could not check the lock holders; checking again later', { error: String(err) });
      }
    });
  }
  await condition(() => mutex.idle && queue.length === 0 && allHandlersFinished());
  await continueAsNew<typeof admission>({
    locks: Object.fromEntries(locks),
    waiting,
    slots: Object.fromEntries(slots),
  });
}
