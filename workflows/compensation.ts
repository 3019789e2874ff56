// Compensation as a list of undo actions (the shape of Temporal's saga sample): the workflow adds
// one as each step that can change something starts, and on failure or cancellation they run in
// reverse order. An undo is added when its step starts, not when it ends, because a step whose
// answer was lost may still have changed something; each undo is idempotent and undoes only
// what this run did (it finds nothing to undo otherwise). An undo that fails for good is
// reported (log and status document) and the others still run.
import { CancellationScope, log } from '@temporalio/workflow';
import type { StepName } from './types';

interface Undo<S extends string> {
  step: S;
  run: () => Promise<void>;
}

/** Provisioning's steps by default; another workflow names its own. */
export class Compensations<S extends string = StepName> {
  private readonly undos: Undo<S>[] = [];

  /** `run` undoes what `step` did. */
  add(step: S, run: () => Promise<void>): void {
    this.undos.push({ step, run });
  }

  /** The point of no return: what was done stays done, whatever fails after. */
  clear(): void {
    this.undos.length = 0;
  }

  /** Runs every undo, last added first, where a cancellation of the run cannot stop them. */
  async run(notUndone: (step: S, error: unknown) => void): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      for (const { step, run } of [...this.undos].reverse()) {
        try {
          await run();
        } catch (err) {
          log.error('compensation failed: undo this step by hand', { step, error: String(err) });
          notUndone(step, err);
        }
      }
    });
  }
}
