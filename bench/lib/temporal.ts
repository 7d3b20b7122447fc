/**
 * The bench's Temporal: one dev server per bench process (the same `temporal server start-dev` with Tenure's search
 * attributes that tests and `npm start` use, src/dev/temporal-server.ts), and what the benches read from it:
 * counts from visibility and costs from a run's history.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { Client, Connection, isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { DevServer } from '../../src/dev/temporal-server';
import { startDevServer } from '../../src/dev/temporal-server';
import { progress, sleep } from './scale';

export async function startBenchServer(): Promise<DevServer> {
  progress('starting the Temporal dev server');
  return startDevServer({ startTimeoutMs: 180_000 });
}

export async function benchClient(
  address: string,
  dataConverter?: DataConverter,
): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, dataConverter }), close: () => connection.close() };
}

export async function countWorkflows(client: Client, query: string): Promise<number> {
  return (await client.workflow.count(query)).count;
}

/**
 * Polls visibility until `query` counts `n` runs; resolves with the instant the count was first seen complete.
 * Throws when `failedQuery` counts any run, or when the count has not moved for `stallMs`.
 */
export async function waitForCount(
  client: Client,
  query: string,
  n: number,
  opts: { failedQuery?: string; stallMs?: number; label?: string; everyMs?: number } = {},
): Promise<number> {
  let last = -1;
  let movedAt = Date.now();
  let reportedAt = 0;
  for (;;) {
    const done = await countWorkflows(client, query);
    const now = Date.now();
    if (done >= n) return now;
    if (done !== last) {
      last = done;
      movedAt = now;
    }
    if (now - reportedAt > 10_000) {
      reportedAt = now;
      progress(`${opts.label ?? 'runs'}: ${done}/${n}`);
    }
    if (opts.failedQuery) {
      const failed = await countWorkflows(client, opts.failedQuery);
      if (failed > 0) throw new Error(`${failed} run(s) failed (${opts.failedQuery})`);
    }
    if (now - movedAt > (opts.stallMs ?? 180_000)) {
      throw new Error(`${opts.label ?? 'runs'}: stuck at ${done}/${n} for ${opts.stallMs ?? 180_000} ms`);
    }
    await sleep(opts.everyMs ?? 250);
  }
}

/** gRPC's NOT_FOUND status code. */
const GRPC_NOT_FOUND = 5;

export interface HistoryCost {
  events: number;
  workflowTasks: number;
  activities: number;
}

/**
 * Events, completed workflow tasks and scheduled activities in the histories of these runs, added up; an id with no
 * workflow adds nothing (a hire run its entity carried out has none: its events are in the entity's history).
 */
export async function historyCost(client: Client, workflowIds: string[]): Promise<HistoryCost> {
  const out: HistoryCost = { events: 0, workflowTasks: 0, activities: 0 };
  for (const id of workflowIds) {
    let history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
    try {
      history = await client.workflow.getHandle(id).fetchHistory();
    } catch (err) {
      // fetchHistory passes the server's NOT_FOUND through as a gRPC error, not as WorkflowNotFoundError.
      if (err instanceof WorkflowNotFoundError || (isGrpcServiceError(err) && Number(err.code) === GRPC_NOT_FOUND))
        continue;
      throw err;
    }
    for (const e of history.events ?? []) {
      out.events += 1;
      if (e.workflowTaskCompletedEventAttributes) out.workflowTasks += 1;
      if (e.activityTaskScheduledEventAttributes) out.activities += 1;
    }
  }
  return out;
}

/** The identities of the workers that started this run's activities, from its history. */
export async function activityWorkerIdentities(client: Client, workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) =>
    e.activityTaskStartedEventAttributes?.identity ? [e.activityTaskStartedEventAttributes.identity] : [],
  );
}

/** Where one HR event's answer spent its time, read from the person's entity history (ms). */
export interface AnswerPhases {
  /** From the sender's send to the server recording the update (the intake and the server's admission). */
  toServer: number;
  /** From the entity's workflow task being scheduled to a worker starting it (waiting for a poll). */
  queued: number;
  /** The worker's task: the update's handler, the plan (a local activity) and the run's start. */
  onWorker: number;
  /** From the task's completion to the sender reading its answer (server, intake, HTTP). */
  back: number;
}

/**
 * The phases of an event's answer, from the entity's history: the workflow task that accepted the first update
 * after `sentAt`. Undefined when the history shows none.
 */
export async function answerPhases(
  client: Client,
  entityWorkflowId: string,
  sentAt: number,
  answeredAt: number,
): Promise<AnswerPhases | undefined> {
  const events = (await client.workflow.getHandle(entityWorkflowId).fetchHistory()).events ?? [];
  const accepted = events.findIndex(
    (e) => e.workflowExecutionUpdateAcceptedEventAttributes && (optionalTsToMs(e.eventTime) ?? 0) >= sentAt,
  );
  if (accepted < 0) return undefined;
  // The accepting task: the last WORKFLOW_TASK_COMPLETED before the acceptance, with its STARTED and SCHEDULED.
  const before = events.slice(0, accepted).reverse();
  const completed = before.find((e) => e.workflowTaskCompletedEventAttributes);
  const started = before.find((e) => e.workflowTaskStartedEventAttributes);
  const scheduled = before.find((e) => e.workflowTaskScheduledEventAttributes);
  const [s, st, c] = [scheduled, started, completed].map((e) => optionalTsToMs(e?.eventTime));
  if (s === undefined || st === undefined || c === undefined) return undefined;
  return { toServer: s - sentAt, queued: st - s, onWorker: c - st, back: answeredAt - c };
}
