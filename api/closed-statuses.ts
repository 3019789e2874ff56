// Status documents of closed requests, kept per run. Answering a closed run's status query makes
// a worker replay the run's whole history, so every poll of a finished request cost a replay on
// the workers that are provisioning. A closed run's document cannot change: an operator's reset
// starts a new run, with a new run id, which describe (still called on every read) reports.
import type { StatusDocument } from '../workflows/types';

/** Where a status document came from (the API's `niu_api_status_documents_total` metric). */
export type StatusSource = 'query' | 'kept' | 'server';

export class ClosedStatuses {
  // Insertion order is recency order: a hit is moved to the end, the first entry goes first.
  private readonly documents = new Map<string, StatusDocument>();

  /** `max` documents at most (a document is 2 to 3 KB); 0 keeps none. */
  constructor(private readonly max = 5000) {}

  get size(): number {
    return this.documents.size;
  }

  get(workflowId: string, runId: string): StatusDocument | undefined {
    const key = `${workflowId}\n${runId}`;
    const doc = this.documents.get(key);
    if (doc) {
      this.documents.delete(key);
      this.documents.set(key, doc);
    }
    return doc;
  }

  set(workflowId: string, runId: string, doc: StatusDocument): void {
    if (this.max <= 0) return;
    const key = `${workflowId}\n${runId}`;
    this.documents.delete(key);
    this.documents.set(key, doc);
    for (const oldest of this.documents.keys()) {
      if (this.documents.size <= this.max) break;
      this.documents.delete(oldest);
    }
  }
}
