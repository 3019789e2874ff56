// The admission entity's rules, apart from its plumbing (workflows/admission.ts): who holds each
// account's lock, who waits for it, who holds a slot of each environment's non-interactive user
// limit, and whether a request gets one. Plain, synchronous code: every decision can be checked
// without a Temporal server (test/unit/admission-rules.test.ts). The entity workflow reads the
// figures, asks which runs have closed, and delivers the answers; this class decides.
//
// Why a lock per account: the same account may be requested for several environments at once.
// They share one Entra account and one license: if the first request removed the license (its
// step 5) while the second still waited for its sync, the second would never sync; if one failed
// and deleted the account, it would pull it from under the other. So requests for one account
// run one after the other, first come first served, and every run sees a quiet account.
//
// Lock-only requests (`needsSlot: false`) take the same lock in the same queue but no slot: runs
// that change an account without adding it to any environment's count (deprovisioning, password
// rotation, repairs) must not race a provisioning of the account, yet must not wait for capacity
// nor be refused when an environment is full.
//
// Why slots: the limit is per environment, and "read the count, take a slot" must be atomic
// across all requests. A run holds its slot until it has set access mode 4 (from then on
// Dataverse counts it) or until it ends; between the two it is counted twice, which errs on the
// safe side.
import type { AdmissionRequest, CapacityDecision, CapacityReservations, EnvironmentCapacity } from './types';

/** What the entity carries across continue-as-new. */
export interface AdmissionState {
  /** Lower-case UPN -> the run holding the account's lock. */
  locks?: Record<string, AdmissionRequest>;
  /** Runs waiting for their account's lock, in arrival order. */
  waiting?: AdmissionRequest[];
  /** requestId -> the run holding a slot of its environment. */
  slots?: Record<string, AdmissionRequest>;
}

/** A run to ask about: is it still running? */
export interface RunRef {
  workflowId: string;
  runId: string;
}

/**
 * A decision may use a read of an environment's figures this young, if no slot or lock was given
 * back since. A burst arrives in several batches (signals that come while a workflow task runs
 * wait for the next one), and each batch read Dataverse again. Nothing this service does changes
 * the count without a release following it (a run gives its slot back right after its mode became
 * 4), so a release makes the next decision read again; a change from outside (an administrator in
 * the portal) is missed for at most this long, as by any read taken this much earlier.
 */
export const REUSE_READ_MS = 2_000;

export const accountOf = (r: AdmissionRequest): string => r.userPrincipalName.toLowerCase();
/** Whether req asks for a slot too (every request but the lock-only ones). */
export const needsSlot = (r: AdmissionRequest): boolean => r.needsSlot !== false;
const refOf = ({ workflowId, runId }: AdmissionRequest): RunRef => ({ workflowId, runId });

export class AdmissionRules {
  private readonly locks: Map<string, AdmissionRequest>;
  private readonly waiting: AdmissionRequest[];
  private readonly slots: Map<string, AdmissionRequest>;
  /** Runs whose account became free: the entity decides them next. */
  private readonly ready: AdmissionRequest[] = [];
  private readonly reads = new Map<string, { figures: EnvironmentCapacity; at: number }>();

  constructor(state: AdmissionState = {}) {
    this.locks = new Map(Object.entries(state.locks ?? {}));
    this.waiting = [...(state.waiting ?? [])];
    this.slots = new Map(Object.entries(state.slots ?? {}));
  }

  state(): Required<AdmissionState> {
    return { locks: Object.fromEntries(this.locks), waiting: [...this.waiting], slots: Object.fromEntries(this.slots) };
  }

  /** One run per workflow id runs at a time: what an earlier run of this id holds or waits for is stale. */
  dropStale(req: AdmissionRequest): void {
    const stale = [...this.locks.values(), ...this.slots.values(), ...this.waiting].find(
      (h) => h.requestId === req.requestId && h.runId !== req.runId,
    );
    if (stale) this.forget(stale.requestId);
  }

  /**
   * The run holding req's account, when req would be the first to wait for it: the entity checks
   * that it still runs before queueing behind it (one terminated from outside never releases).
   * Later waiters rely on that check and on the periodic one (`holdersOfWaitedAccounts`).
   */
  holderToCheck(req: AdmissionRequest): RunRef | null {
    const account = accountOf(req);
    const holder = this.locks.get(account);
    if (!holder || holder.runId === req.runId) return null;
    return this.waiting.some((w) => accountOf(w) === account) ? null : refOf(holder);
  }

  /**
   * Queues req behind its account's holder and returns its place (1 = next), or null when the
   * account is free or already req's, so that req can be decided now.
   */
  queue(req: AdmissionRequest): number | null {
    const account = accountOf(req);
    const holder = this.locks.get(account);
    const queued = this.waiting.findIndex((w) => w.runId === req.runId);
    if (!holder || holder.runId === req.runId) {
      if (queued >= 0) this.waiting.splice(queued, 1); // asked again while waiting, now free
      return null;
    }
    if (queued < 0) this.waiting.push(req);
    return this.waiting.filter((w) => accountOf(w) === account).findIndex((w) => w.runId === req.runId) + 1;
  }

  /** Slots of req's environment held by other runs. */
  reservedFor(req: AdmissionRequest): number {
    return [...this.slots.values()].filter((s) => s.environment === req.environment && s.requestId !== req.requestId)
      .length;
  }

  /** True when req holds no slot and granting one would go past the limit. */
  full(req: AdmissionRequest, figures: EnvironmentCapacity): boolean {
    return !this.slots.has(req.requestId) && figures.used + this.reservedFor(req) >= figures.limit;
  }

  /** Everyone holding a slot: before refusing, the entity asks which of them have closed. */
  slotHolders(): RunRef[] {
    return [...this.slots.values()].map(refOf);
  }

  /**
   * Grants req its account's lock and a slot when used + reserved < limit (a run that already
   * holds its slot keeps it), or refuses. A refused run holds nothing, so the account passes to
   * the next run waiting for it.
   */
  decide(req: AdmissionRequest, figures: EnvironmentCapacity): CapacityDecision {
    const reserved = this.reservedFor(req);
    const granted = !this.full(req, figures);
    if (granted) {
      this.locks.set(accountOf(req), req);
      this.slots.set(req.requestId, req);
    } else {
      this.promote(accountOf(req));
    }
    return { granted, limit: figures.limit, used: figures.used, reserved };
  }

  /**
   * Grants a lock-only request (`needsSlot: false`) its account's lock, once `queue` found the
   * account free: nothing to count, so nothing to read and never a refusal.
   */
  grantLock(req: AdmissionRequest): void {
    this.locks.set(accountOf(req), req);
  }

  /**
   * A run gives back its slot (its access mode is 4) or everything (`lock`: it ends). A release
   * from an earlier run of the same id is ignored: the current run holds what it names.
   */
  release({ requestId, runId, lock }: { requestId: string; runId: string; lock: boolean }): void {
    const held = this.slots.get(requestId) ?? [...this.locks.values()].find((h) => h.requestId === requestId);
    if (held && held.runId !== runId) return;
    this.reads.clear();
    if (lock) this.forget(requestId);
    else this.slots.delete(requestId);
  }

  /** Everything a request holds or waits for is given up (its run has closed); its account passes on. */
  forget(requestId: string): void {
    this.reads.clear();
    this.slots.delete(requestId);
    const index = this.waiting.findIndex((w) => w.requestId === requestId);
    if (index >= 0) this.waiting.splice(index, 1);
    for (const [account, holder] of this.locks) {
      if (holder.requestId !== requestId) continue;
      this.locks.delete(account);
      this.promote(account);
    }
  }

  /** Runs whose account became free since the last call, in arrival order, to decide next. */
  takeReady(): AdmissionRequest[] {
    return this.ready.splice(0);
  }

  get anyoneWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /**
   * For the periodic check while runs wait: passes on accounts that are free (a waiter nobody
   * told), and returns the holders of the others, to ask whether they still run.
   */
  holdersOfWaitedAccounts(): RunRef[] {
    const accounts = [...new Set(this.waiting.map(accountOf))];
    for (const account of accounts) this.promote(account);
    return accounts.flatMap((a) => (this.locks.has(a) ? [refOf(this.locks.get(a)!)] : []));
  }

  /** A read of the environment young enough to decide from (REUSE_READ_MS), if any. */
  recentRead(environment: string, now: number): EnvironmentCapacity | null {
    const last = this.reads.get(environment);
    return last && now - last.at <= REUSE_READ_MS ? last.figures : null;
  }

  recordRead(environment: string, figures: EnvironmentCapacity, now: number): void {
    this.reads.set(environment, { figures, at: now });
  }

  reservations(environment?: string): CapacityReservations {
    const holders = [...this.slots.values()].filter((s) => !environment || s.environment === environment);
    return { reserved: holders.length, holders: holders.map((h) => h.requestId) };
  }

  /** The first run waiting for a free account moves to `ready`. */
  private promote(account: string): void {
    if (this.locks.has(account)) return;
    const next = this.waiting.findIndex((w) => accountOf(w) === account);
    if (next >= 0) this.ready.push(...this.waiting.splice(next, 1));
  }
}
