// Activities that talk to the service's own entity workflows: the admission entity (account lock
// and slots), and for runs started before it the per-environment capacity and per-UPN lock. A
// workflow cannot start another, independent workflow and talk to it synchronously, so these
// activities do it with the Temporal client: signal-with-start and update-with-start create the
// entity if it is not running. The entities key what they hand out by request (run), so a
// retried activity gets the same answer instead of a second reservation.
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { activityInfo } from '@temporalio/activity';
import { callSignal, untilAborted } from './cancellation';
import type { Config } from '../config';
import {
  ADMISSION_WORKFLOW_TYPE,
  admissionWorkflowId,
  capacityWorkflowId,
  CAPACITY_WORKFLOW_TYPE,
  UPN_LOCK_WORKFLOW_TYPE,
  upnLockWorkflowId,
  type CapacityDecision,
  type AdmissionMessage,
  type AdmissionRelease,
  type AdmissionRequest,
  type CapacityRequest,
  type LockDecision,
} from '../workflows/types';

/**
 * Runs the client calls of one activity attempt, bounded by the attempt's start-to-close timeout
 * and stopped when the activity is cancelled: an update waits for the entity workflow, which
 * runs on this worker, and would wait forever once the worker stops polling (cancellation.ts).
 * A refused or dropped update fails the attempt into the retry policy's back-off: the attempt
 * holds an activity slot while it waits, and retrying it sooner (tried: about a second) took the
 * slots the later steps need, so that 1,000 requests started together got none past the
 * account's creation in 5 minutes (bench).
 */
function bounded<T>(c: Client, fn: () => Promise<T>): Promise<T> {
  const signal = callSignal(activityInfo().startToCloseTimeoutMs);
  return c.withAbortSignal(signal, () => untilAborted(signal, fn()));
}

/**
 * Signals each run its answer; returns the request ids whose run is gone (terminated, ended):
 * they will never use or release what they were given.
 */
async function signalRuns<A>(
  c: Client,
  signal: string,
  answers: { request: { requestId: string; workflowId: string; runId: string }; arg: A }[],
): Promise<string[]> {
  const gone: string[] = [];
  await bounded(c, () =>
    Promise.all(
      answers.map(async ({ request, arg }) => {
        try {
          await c.workflow.getHandle(request.workflowId, request.runId).signal(signal, arg);
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) gone.push(request.requestId);
          else throw err;
        }
      }),
    ),
  );
  return gone;
}

export function entityActivities(config: Config, client: () => Promise<Client>) {
  const entities = {
    /**
     * Which of these runs are no longer running (ended, terminated, unknown). The entities use it
     * to take back a slot or the lock from a run that was terminated without releasing them.
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

    /** Asks the environment's capacity entity for one slot; it answers granted or not, never waits. */
    async reserveCapacity(input: {
      environment: string;
      requestId: string;
      userPrincipalName: string;
    }): Promise<CapacityDecision> {
      const c = await client();
      return bounded(c, () =>
        c.workflow.executeUpdateWithStart('reserve', {
          args: [{ requestId: input.requestId, userPrincipalName: input.userPrincipalName }],
          // One id per attempt: the server keeps an update's outcome under its id, so a retry with
          // the same id would get the same failure back for good. The entity itself answers a
          // request that already holds a slot with that slot, so a retry after a lost answer
          // never takes a second one.
          updateId: `reserve:${input.requestId}:${activityInfo().workflowExecution?.runId ?? '-'}:${activityInfo().attempt}`,
          startWorkflowOperation: new WithStartWorkflowOperation(CAPACITY_WORKFLOW_TYPE, {
            workflowId: capacityWorkflowId(input.environment, config.temporal.taskQueue),
            taskQueue: config.temporal.taskQueue,
            args: [{ environment: input.environment }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            staticSummary: `Non-interactive user capacity of ${input.environment}`,
          }),
        }),
      ) as Promise<CapacityDecision>;
    },

    /** Asks the UPN's lock entity for the lock; when it is held, the entity queues the caller and signals it later. */
    async acquireUpnLock(input: {
      userPrincipalName: string;
      workflowId: string;
      runId: string;
    }): Promise<LockDecision> {
      const c = await client();
      const upn = input.userPrincipalName.toLowerCase();
      return bounded(c, () =>
        c.workflow.executeUpdateWithStart('acquire', {
          args: [{ workflowId: input.workflowId, runId: input.runId }],
          // Same reasoning as reserve: the lock answers a run that holds or waits with its place.
          updateId: `acquire:${input.runId}:${activityInfo().attempt}`,
          startWorkflowOperation: new WithStartWorkflowOperation(UPN_LOCK_WORKFLOW_TYPE, {
            workflowId: upnLockWorkflowId(upn, config.temporal.taskQueue),
            taskQueue: config.temporal.taskQueue,
            args: [{ userPrincipalName: upn }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            staticSummary: `Serializes provisioning of ${upn} across environments`,
          }),
        }),
      ) as Promise<LockDecision>;
    },

    /**
     * Sends the run's reservation to the environment's capacity entity (signal-with-start: the
     * entity is started if it is not running) and returns at once. The entity answers the run
     * with a `capacityDecided` signal; the run waits for it on a durable condition, so no
     * activity slot and no in-flight update is held while the entity decides (workflows/capacity.ts).
     */
    async requestSlot(input: AdmissionRequest): Promise<void> {
      const c = await client();
      const request: CapacityRequest = {
        requestId: input.requestId,
        userPrincipalName: input.userPrincipalName,
        workflowId: input.workflowId,
        runId: input.runId,
      };
      await bounded(c, () =>
        c.workflow.signalWithStart(CAPACITY_WORKFLOW_TYPE, {
          signal: 'requestSlot',
          signalArgs: [request],
          workflowId: capacityWorkflowId(input.environment, config.temporal.taskQueue),
          taskQueue: config.temporal.taskQueue,
          args: [{ environment: input.environment }],
          staticSummary: `Non-interactive user capacity of ${input.environment}`,
        }),
      );
    },

    /**
     * The capacity entity's answers, sent with the client from a local activity of the entity:
     * a signal sent by the workflow itself is a server task that also writes its acknowledgement
     * into the entity's history, and every write to the one entity is serialized; 200 requests
     * at once got their decisions at about 5 per second that way (bench:profile). Returns the
     * request ids whose run is gone (terminated): they will never use their slot. A retry sends
     * again; a run takes the first decision it gets.
     */
    async deliverCapacityDecisions(input: {
      decisions: { request: CapacityRequest; decision: CapacityDecision }[];
    }): Promise<string[]> {
      return signalRuns(
        await client(),
        'capacityDecided',
        input.decisions.map(({ request, decision }) => ({
          request,
          arg: { requestId: request.requestId, ...decision },
        })),
      );
    },

    /**
     * A run asks the admission entity (workflows/admission.ts) for its account's lock and a slot:
     * signal-with-start, so the entity is started if it is not running. Run as a local activity:
     * it returns at once, and the entity answers with an `admission` signal.
     */
    async requestAdmission(input: AdmissionRequest): Promise<void> {
      const c = await client();
      await bounded(c, () =>
        c.workflow.signalWithStart(ADMISSION_WORKFLOW_TYPE, {
          signal: 'admit',
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
          c.workflow.getHandle(admissionWorkflowId(config.temporal.taskQueue)).signal('releaseAdmission', input),
        );
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    },

    /** The admission entity's answers (as deliverCapacityDecisions). */
    async deliverAdmissions(input: {
      answers: { request: AdmissionRequest; message: AdmissionMessage }[];
    }): Promise<string[]> {
      return signalRuns(
        await client(),
        'admission',
        input.answers.map(({ request, message }) => ({ request, arg: message })),
      );
    },

    /**
     * Step 0 in one activity: the account lock, then (only once it is held) the capacity request.
     * A run that must wait for the lock asks for its slot (`requestSlot`) after the lock entity
     * signalled it. One activity instead of two saves every request a workflow task round trip
     * and six history events; a retry asks both again, which both entities answer with what the
     * run already holds or has asked.
     */
    async admit(input: AdmissionRequest): Promise<{ lock: LockDecision }> {
      const lock = await entities.acquireUpnLock(input);
      if (lock.granted) await entities.requestSlot(input);
      return { lock };
    },
  };
  return entities;
}

export type EntityActivities = ReturnType<typeof entityActivities>;
