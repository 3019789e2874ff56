// Activities that talk to the admission entity (workflows/admission.ts) with the Temporal client.
// A workflow cannot start another, independent workflow and talk to it synchronously, so a run's
// request goes by signal-with-start (the entity is started if it is not running), and the
// entity's answers and its checks on runs go through the client too. The entity keys what it
// hands out by request (run), so a retried activity gets the same answer, never a second slot.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { activityInfo } from '@temporalio/activity';
import { callSignal, untilAborted } from './cancellation';
import type { Config } from '../config';
import {
  ADMISSION_SIGNALS,
  ADMISSION_WORKFLOW_TYPE,
  admissionWorkflowId,
  type AdmissionMessage,
  type AdmissionRelease,
  type AdmissionRequest,
} from '../workflows/types';

/**
 * Runs the client calls of one activity attempt, bounded by the attempt's start-to-close timeout
 * and stopped when the activity is cancelled (cancellation.ts): a call to a server that does not
 * answer would otherwise hold the attempt past its timeout.
 */
function bounded<T>(c: Client, fn: () => Promise<T>): Promise<T> {
  const signal = callSignal(activityInfo().startToCloseTimeoutMs);
  return c.withAbortSignal(signal, () => untilAborted(signal, fn()));
}

export function entityActivities(config: Config, client: () => Promise<Client>) {
  return {
    /**
     * Which of these runs are no longer running (ended, terminated, unknown). The entity takes
     * back a slot or the lock from a run that was terminated without releasing them.
     */
    async closedRuns(input: { runs: { workflowId: string; runId?: string }[] }): Promise<string[]> {
      const c = await client();
      const closed: string[] = [];
      for (const run of input.runs) {
        try {
          const d = await bounded(c, () => c.workflow.getHandle(run.workflowId, run.runId).describe());
          if (d.status.name !== 'RUNNING') closed.push(run.workflowId);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) closed.push(run.workflowId);
          else throw err;
        }
      }
      return closed;
    },

    /**
     * A run asks the admission entity for its account's lock and a slot. Run as a local activity:
     * it returns at once, and the entity answers with an `admission` signal.
     */
    async requestAdmission(input: AdmissionRequest): Promise<void> {
      const c = await client();
      await bounded(c, () =>
        c.workflow.signalWithStart(ADMISSION_WORKFLOW_TYPE, {
          signal: ADMISSION_SIGNALS.admit,
          signalArgs: [input],
          workflowId: admissionWorkflowId(config.temporal.taskQueue),
          taskQueue: config.temporal.taskQueue,
          args: [{}],
          staticSummary: 'Admission: one request per account at a time, non-interactive user slots per environment',
        }),
      );
    },

    /**
     * A run gives back its slot (`lock: false`, access mode 4 is set) or everything (it ends).
     * Sent with the client: the slot from within the set-access-mode activity (activities/index.ts),
     * everything from a local activity at the run's end (a signal sent by the workflow costs it a
     * workflow task and two history events more). An entity that is not running holds nothing.
     */
    async releaseAdmission(input: AdmissionRelease): Promise<void> {
      const c = await client();
      try {
        await bounded(c, () =>
          c.workflow.getHandle(admissionWorkflowId(config.temporal.taskQueue)).signal(ADMISSION_SIGNALS.release, input),
        );
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    },

    /**
     * The entity's answers, sent to the requesting runs with the client from a local activity of
     * the entity: a signal sent by the workflow itself is a server task that also writes its
     * acknowledgement into the entity's history, and every write to the one entity is serialized
     * (200 requests at once got their answers at about 5 per second that way). Returns the request
     * ids whose run is gone (terminated): they will never use or release what they were given. A
     * retry sends again; a run takes the first decision it gets.
     */
    async deliverAdmissions(input: {
      answers: { request: AdmissionRequest; message: AdmissionMessage }[];
    }): Promise<string[]> {
      const c = await client();
      const gone: string[] = [];
      await bounded(c, () =>
        Promise.all(
          input.answers.map(async ({ request, message }) => {
            try {
              await c.workflow.getHandle(request.workflowId, request.runId).signal(ADMISSION_SIGNALS.answer, message);
            } catch (err) {
              if (err instanceof WorkflowNotFoundError) gone.push(request.requestId);
              else throw err;
            }
          }),
        ),
      );
      return gone;
    },
  };
}
