/**
 * Fleet gauges computed at scrape time from Temporal visibility, on Tenure's search attributes
 * (src/workflows/search-attributes.ts): runs by kind and status, open exceptions, waiting approvals and tasks.
 * Nothing is counted in workflow code; the workflows publish their state, and this reads it back.
 *
 * Register them in one process per deployment (the worker): every process would report the same fleet.
 */
import type { Client } from '@temporalio/client';
import { hrEventKinds } from '../domain/employee';
import { EVENT_KIND, WAITING_ON } from '../workflows/search-attributes';
import type { TenureMetrics } from './metrics';

export interface FleetOptions {
  /** Count only workflows on this task queue (tests sharing one server). @default every task queue */
  taskQueue?: string;
  /** Reuse the last counts for this long, so a burst of scrapes is one round of queries. @default 10000 */
  cacheMs?: number;
}

export interface FleetCounts {
  /** Runs by event kind, then by execution status (`running`, `completed`, `failed`, `canceled`, `terminated`, …). */
  runs: Record<string, Record<string, number>>;
  openExceptions: number;
  waitingApprovals: number;
  waitingTasks: number;
}

const APPROVAL_WORKFLOW = 'approvalWorkflow';
const TASK_WORKFLOW = 'manualTaskWorkflow';

/** The visibility queries behind each gauge (documented in docs/observability.md). */
export function fleetQueries(taskQueue?: string): {
  runs: (kind: string) => string;
  openExceptions: string;
  waitingApprovals: string;
  waitingTasks: string;
} {
  const scope = (q: string): string => (taskQueue ? `${q} AND TaskQueue = ${quote(taskQueue)}` : q);
  const waiting = (type: string): string =>
    scope(`WorkflowType = ${quote(type)} AND ExecutionStatus = "Running" AND ${WAITING_ON.name} IS NOT NULL`);
  return {
    runs: (kind) => `${scope(`${EVENT_KIND.name} = ${quote(kind)}`)} GROUP BY ExecutionStatus`,
    openExceptions: scope(`ExecutionStatus = "Running" AND ${WAITING_ON.name} STARTS_WITH "operator:"`),
    waitingApprovals: waiting(APPROVAL_WORKFLOW),
    waitingTasks: waiting(TASK_WORKFLOW),
  };
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `ContinuedAsNew` → `continued_as_new`, `Running` → `running`. */
export function statusLabel(status: unknown): string {
  const text = typeof status === 'string' ? status : String(status);
  return text.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Runs the visibility counts once. */
export async function collectFleetGauges(client: Client, opts: FleetOptions = {}): Promise<FleetCounts> {
  const q = fleetQueries(opts.taskQueue);
  const count = async (query: string): Promise<number> => (await client.workflow.count(query)).count;
  const byKind = Promise.all(
    hrEventKinds.map(async (kind) => {
      const r = await client.workflow.count(q.runs(kind));
      const statuses: Record<string, number> = {};
      for (const g of r.groups) statuses[statusLabel(g.groupValues[0])] = g.count;
      return [kind, statuses] as const;
    }),
  );
  const [openExceptions, waitingApprovals, waitingTasks, kinds] = await Promise.all([
    count(q.openExceptions),
    count(q.waitingApprovals),
    count(q.waitingTasks),
    byKind,
  ]);
  const runs: FleetCounts['runs'] = {};
  for (const [kind, statuses] of kinds) if (Object.keys(statuses).length > 0) runs[kind] = statuses;
  return { runs, openExceptions, waitingApprovals, waitingTasks };
}

/**
 * Fills the fleet gauges of `metrics` at scrape time. A failed query counts in `tenure_fleet_scrape_errors_total`
 * and leaves the gauges at their last values; the scrape itself still succeeds. Returns a function that unhooks it.
 */
export function registerFleetGauges(metrics: TenureMetrics, client: Client, opts: FleetOptions = {}): () => void {
  const cacheMs = opts.cacheMs ?? 10_000;
  let last = 0;
  let inFlight: Promise<void> | undefined;
  const refresh = async (): Promise<void> => {
    const counts = await collectFleetGauges(client, opts);
    const f = metrics.fleet;
    f.runs.reset();
    for (const [kind, statuses] of Object.entries(counts.runs)) {
      for (const [status, n] of Object.entries(statuses)) f.runs.set({ kind, status }, n);
    }
    f.openExceptions.set(counts.openExceptions);
    f.waitingApprovals.set(counts.waitingApprovals);
    f.waitingTasks.set(counts.waitingTasks);
  };
  metrics.fleet.setCollector(() => {
    if (inFlight) return inFlight;
    if (Date.now() - last < cacheMs) return Promise.resolve();
    inFlight = refresh()
      .catch(() => metrics.fleet.scrapeErrors.inc())
      .finally(() => {
        last = Date.now();
        inFlight = undefined;
      });
    return inFlight;
  });
  return () => metrics.fleet.setCollector(undefined);
}
