/**
 * The bench's Temporal: one dev server per bench process (the same `temporal server start-dev` with Tenure's search
 * attributes that tests and `npm start` use, src/dev/temporal-server.ts), and what the benches read from it:
 * counts from visibility and costs from a run's history.
 */
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
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

export interface HistoryCost {
  events: number;
  workflowTasks: number;
  activities: number;
}

/** Events, completed workflow tasks and scheduled activities in the histories of these runs, added up. */
export async function historyCost(client: Client, workflowIds: string[]): Promise<HistoryCost> {
  const out: HistoryCost = { events: 0, workflowTasks: 0, activities: 0 };
  for (const id of workflowIds) {
    const history = await client.workflow.getHandle(id).fetchHistory();
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
