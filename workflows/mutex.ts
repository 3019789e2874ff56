// A first-come-first-served lock for async handlers inside one workflow. Update handlers run
// concurrently (each may await an activity); chaining them on one promise makes the
// read-decide-record sequence atomic. Deterministic: plain promises, no timers.
export class WorkflowMutex {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => {
        this.pending -= 1;
      },
      () => {
        this.pending -= 1;
      },
    );
    return result;
  }

  /**
   * A batched turn: the returned `book` queues `fn` behind the mutex once, and calls made before
   * that turn starts ride along with it (the entities decide every request that arrived meanwhile).
   */
  batched(fn: () => Promise<void>): () => void {
    let booked = false;
    return () => {
      if (booked) return;
      booked = true;
      void this.run(async () => {
        booked = false;
        await fn();
      });
    };
  }

  get idle(): boolean {
    return this.pending === 0;
  }
}
