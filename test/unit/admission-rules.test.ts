// The admission entity's rules (workflows/admission-rules.ts), without a Temporal server: the
// limit, first come first served per account, releases, and runs that closed while holding.
import { AdmissionRules, needsSlot, REUSE_READ_MS } from '../../workflows/admission-rules';
import type { AdmissionRequest, CapacityDecision } from '../../workflows/types';

let runs = 0;
/** A request of a new run; `name` is the account, `env` the environment. */
function req(name: string, env = 'contoso-prod', workflowId = `niu:${env}:${name}@contoso.onmicrosoft.com`) {
  runs += 1;
  return {
    requestId: workflowId,
    workflowId,
    runId: `run-${runs}`,
    environment: env,
    userPrincipalName: `${name}@contoso.onmicrosoft.com`,
  } satisfies AdmissionRequest;
}
const limit7 = (used: number) => ({ limit: 7, used });

/** Queues or decides `r` as the entity does (queue first, decide when the account is free). */
function ask(
  rules: AdmissionRules,
  r: AdmissionRequest,
  figures = limit7(0),
): Partial<CapacityDecision> & { queued?: number } {
  const position = rules.queue(r);
  return position === null ? rules.decide(r, figures) : { queued: position };
}

describe('slots of an environment', () => {
  test('granted while used + reserved < limit, refused at the limit', () => {
    const rules = new AdmissionRules();
    expect(ask(rules, req('a'), limit7(5))).toEqual({ granted: true, limit: 7, used: 5, reserved: 0 });
    expect(ask(rules, req('b'), limit7(5))).toEqual({ granted: true, limit: 7, used: 5, reserved: 1 });
    expect(ask(rules, req('c'), limit7(5))).toEqual({ granted: false, limit: 7, used: 5, reserved: 2 });
    expect(rules.reservations('contoso-prod')).toEqual({
      reserved: 2,
      holders: [req('a').requestId, req('b').requestId],
    });
  });

  test('each environment counts its own slots', () => {
    const rules = new AdmissionRules();
    const full = { limit: 1, used: 0 };
    expect(ask(rules, req('a', 'contoso-prod'), full).granted).toBe(true);
    expect(ask(rules, req('b', 'contoso-test'), full).granted).toBe(true);
    expect(ask(rules, req('c', 'contoso-prod'), full).granted).toBe(false);
    expect(rules.reservations().reserved).toBe(2);
  });

  test('a run that asks again keeps the slot it holds, even with the environment now full', () => {
    const rules = new AdmissionRules();
    const a = req('a');
    expect(ask(rules, a, { limit: 1, used: 0 }).granted).toBe(true);
    expect(ask(rules, a, { limit: 1, used: 1 })).toEqual({ granted: true, limit: 1, used: 1, reserved: 0 });
    expect(rules.reservations().reserved).toBe(1);
  });

  test('a slot given back (access mode 4 set) frees it and keeps the account lock', () => {
    const rules = new AdmissionRules();
    const a = req('a');
    ask(rules, a, { limit: 1, used: 0 });
    rules.release({ requestId: a.requestId, runId: a.runId, lock: false });
    expect(rules.reservations().reserved).toBe(0);
    expect(rules.queue({ ...req('x'), userPrincipalName: a.userPrincipalName })).toBe(1);
  });
});

describe('one request per account at a time, first come first served', () => {
  test('later requests for the account queue in arrival order, across environments and letter case', () => {
    const rules = new AdmissionRules();
    const first = req('svc');
    const second = req('svc', 'contoso-test');
    const third = { ...req('SVC', 'contoso-test', 'niu:contoso-test:svc-other-id') };
    expect(ask(rules, first).granted).toBe(true);
    expect(ask(rules, second)).toEqual({ queued: 1 });
    expect(ask(rules, third)).toEqual({ queued: 2 });
    expect(ask(rules, second)).toEqual({ queued: 1 }); // asked again while waiting: same place
    expect(rules.takeReady()).toEqual([]);

    rules.release({ requestId: first.requestId, runId: first.runId, lock: true });
    expect(rules.takeReady()).toEqual([second]);
    expect(ask(rules, second).granted).toBe(true);
    expect(ask(rules, third)).toEqual({ queued: 1 });
  });

  test('a refused request holds nothing: the account passes to the next waiter', () => {
    const rules = new AdmissionRules();
    const [holder, refused, next] = [req('svc', 'contoso-test'), req('svc'), req('svc', 'contoso-dev')];
    ask(rules, holder);
    ask(rules, refused);
    ask(rules, next);
    rules.release({ requestId: holder.requestId, runId: holder.runId, lock: true });
    expect(rules.takeReady()).toEqual([refused]);
    expect(ask(rules, refused, { limit: 0, used: 0 }).granted).toBe(false);
    expect(rules.takeReady()).toEqual([next]);
  });

  test('only the first waiter has the holder checked; a holder whose run closed passes the account on', () => {
    const rules = new AdmissionRules();
    const [holder, w1, w2] = [req('svc'), req('svc', 'contoso-test'), req('svc', 'contoso-dev')];
    ask(rules, holder);
    expect(rules.holderToCheck(holder)).toBeNull();
    expect(rules.holderToCheck(w1)).toEqual({ workflowId: holder.workflowId, runId: holder.runId });
    ask(rules, w1);
    expect(rules.holderToCheck(w2)).toBeNull();
    ask(rules, w2);

    rules.forget(holder.requestId); // its run was terminated from outside
    expect(rules.reservations().reserved).toBe(0);
    expect(rules.takeReady()).toEqual([w1]);
  });

  test('the periodic check returns the holders of waited-for accounts and passes on free ones', () => {
    const holder = req('held');
    const rules = new AdmissionRules({
      waiting: [req('free'), req('held', 'contoso-test')],
      locks: { 'held@contoso.onmicrosoft.com': holder },
    });
    expect(rules.holdersOfWaitedAccounts()).toEqual([{ workflowId: holder.workflowId, runId: holder.runId }]);
    expect(rules.takeReady().map((r) => r.userPrincipalName)).toEqual(['free@contoso.onmicrosoft.com']);
  });
});

/** A lock-only request (deprovisioning, rotation, repairs) for `name`, from a workflow of another id. */
function lockOnly(name: string, env = 'contoso-prod') {
  return { ...req(name, env, `niu-deprovision:${env}:${name}@contoso.onmicrosoft.com`), needsSlot: false };
}

/** Queues or grants a lock-only request as the entity does. */
function askLock(rules: AdmissionRules, r: AdmissionRequest): { locked: true } | { queued: number } {
  const position = rules.queue(r);
  if (position !== null) return { queued: position };
  rules.grantLock(r);
  return { locked: true };
}

describe('lock-only requests', () => {
  test('need no slot: granted the lock on a full environment, counted in no reservation', () => {
    const rules = new AdmissionRules();
    expect(ask(rules, req('a'), { limit: 1, used: 0 }).granted).toBe(true);
    const b = lockOnly('b');
    expect(needsSlot(b)).toBe(false);
    expect(needsSlot(req('c'))).toBe(true);
    expect(askLock(rules, b)).toEqual({ locked: true });
    expect(rules.reservations()).toEqual({ reserved: 1, holders: [req('a').requestId] });
    expect(rules.state().locks['b@contoso.onmicrosoft.com']).toEqual(b);
  });

  test('a provisioning queues behind a lock-only holder of its account, and gets its slot after it', () => {
    const rules = new AdmissionRules();
    const holder = lockOnly('svc');
    const provisioning = req('SVC', 'contoso-test');
    expect(askLock(rules, holder)).toEqual({ locked: true });
    expect(ask(rules, provisioning)).toEqual({ queued: 1 });
    rules.release({ requestId: holder.requestId, runId: holder.runId, lock: true });
    expect(rules.takeReady()).toEqual([provisioning]);
    expect(ask(rules, provisioning, { limit: 1, used: 0 }).granted).toBe(true);
  });

  test('a lock-only request queues behind a provisioning, and behind earlier waiters, in arrival order', () => {
    const rules = new AdmissionRules();
    const provisioning = req('svc');
    const [first, second] = [lockOnly('svc'), lockOnly('svc', 'contoso-test')];
    ask(rules, provisioning);
    expect(askLock(rules, first)).toEqual({ queued: 1 });
    expect(askLock(rules, second)).toEqual({ queued: 2 });
    // The provisioning gives its slot back (mode 4 set): it still holds the account.
    rules.release({ requestId: provisioning.requestId, runId: provisioning.runId, lock: false });
    expect(rules.takeReady()).toEqual([]);
    rules.release({ requestId: provisioning.requestId, runId: provisioning.runId, lock: true });
    expect(rules.takeReady()).toEqual([first]);
    expect(askLock(rules, first)).toEqual({ locked: true });
    expect(askLock(rules, second)).toEqual({ queued: 1 });
  });

  test('a lock-only run that closed while holding passes the account on; one that gives up waiting leaves the queue', () => {
    const rules = new AdmissionRules();
    const [holder, gaveUp, next] = [lockOnly('svc'), lockOnly('svc', 'contoso-test'), req('svc', 'contoso-dev')];
    askLock(rules, holder);
    askLock(rules, gaveUp);
    ask(rules, next);
    // Cancelled while waiting: its release names no lock it holds, and takes it out of the queue.
    rules.release({ requestId: gaveUp.requestId, runId: gaveUp.runId, lock: true });
    expect(rules.state().waiting).toEqual([next]);
    rules.forget(holder.requestId); // terminated from outside
    expect(rules.takeReady()).toEqual([next]);
  });

  test('one run may take two accounts one after the other', () => {
    const rules = new AdmissionRules();
    const first = lockOnly('a');
    const second = { ...first, userPrincipalName: 'b@contoso.onmicrosoft.com' };
    askLock(rules, first);
    rules.release({ requestId: first.requestId, runId: first.runId, lock: true });
    expect(askLock(rules, second)).toEqual({ locked: true });
    expect(Object.keys(rules.state().locks)).toEqual(['b@contoso.onmicrosoft.com']);
    expect(askLock(rules, req('a'))).toEqual({ locked: true });
  });
});

describe('runs of the same workflow id', () => {
  test('a new run drops what an earlier run of its id held or waited for', () => {
    const rules = new AdmissionRules();
    const old = req('a');
    ask(rules, old, { limit: 1, used: 0 });
    const again = { ...old, runId: 'run-new' }; // the id was reused after the old run was terminated
    rules.dropStale(again);
    expect(ask(rules, again, { limit: 1, used: 0 }).granted).toBe(true);
    expect(rules.reservations().holders).toEqual([again.requestId]);
  });

  test("a late release of an earlier run does not give back the current run's slot", () => {
    const rules = new AdmissionRules();
    const current = req('a');
    ask(rules, current);
    rules.release({ requestId: current.requestId, runId: 'run-earlier', lock: true });
    expect(rules.reservations().reserved).toBe(1);
  });
});

test('a recent read is reused for REUSE_READ_MS, and never after a release', () => {
  const rules = new AdmissionRules();
  const a = req('a');
  rules.recordRead('contoso-prod', limit7(3), 1_000);
  expect(rules.recentRead('contoso-prod', 1_000 + REUSE_READ_MS)).toEqual(limit7(3));
  expect(rules.recentRead('contoso-prod', 1_001 + REUSE_READ_MS)).toBeNull();
  expect(rules.recentRead('contoso-test', 1_000)).toBeNull();
  ask(rules, a);
  rules.release({ requestId: a.requestId, runId: a.runId, lock: false });
  expect(rules.recentRead('contoso-prod', 1_000)).toBeNull();
});

test('the state carried across continue-as-new gives the same decisions', () => {
  const rules = new AdmissionRules();
  const [a, waiter] = [req('a'), req('a', 'contoso-test')];
  ask(rules, a, { limit: 1, used: 0 });
  ask(rules, waiter);
  const after = new AdmissionRules(JSON.parse(JSON.stringify(rules.state())));
  expect(after.state()).toEqual(rules.state());
  expect(ask(after, req('b'), { limit: 1, used: 0 }).granted).toBe(false);
  after.release({ requestId: a.requestId, runId: a.runId, lock: true });
  expect(after.takeReady()).toEqual([waiter]);
});
