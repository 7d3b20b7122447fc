/**
 * The mass-change guard on every path that changes access (issue 14, item 4; docs/guard.md). Each change is planned
 * with the worker's own plan functions to see what it would take away; a batch that takes nothing away (hires,
 * plain updates) is delivered at once and never touches the guard workflow, unless the policy guards grants. What
 * takes access away is admitted by the guard workflow (`tenure-guard`), which counts it per run, per system and per
 * rolling hour against the policy's thresholds and either admits it (delivered here, at once) or holds it: nothing
 * held runs until an operator releases it (`tenure guard release`), and a discard drops it.
 *
 * What is held: every event that takes access away, with every later event of the same person in the batch (so a
 * person's events keep their order), and every account action. The batch's other events go ahead.
 */
import type { Client } from '@temporalio/client';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { EmployeeRecord, HrEvent } from '../domain/employee';
import { employeeWorkflowId } from '../domain/ids';
import type { GuardSettings, Impact } from '../domain/guard-thresholds';
import { addImpacts, takesAway } from '../domain/guard-thresholds';
import type { Policy } from '../domain/policy';
import { resolveGuardSettings } from '../domain/policy-guard';
import { deliverHrEvent } from '../client/deliver';
import type { DeliverEventResult } from '../workflows/employee/messages';
import { employeeStatusQuery } from '../workflows/employee/messages';
import type { AdmitAnswer, AdmitInput } from '../workflows/guard/messages';
import { admitUpdate, guardWorkflowId } from '../workflows/guard/messages';
import { actionImpact, eventImpact } from './impact';
import type { GuardBatch, GuardedDelivery, GuardPath } from './types';

export type { AccountAction, GuardBatch, GuardedDelivery, GuardPath } from './types';

/** Deliveries in flight at once for a batch (people in parallel, each person's events in order). */
const BATCH_CONCURRENCY = 32;
/** How long a counted population is reused. */
const POPULATION_TTL_MS = 60_000;

const populations = new Map<string, { at: number; value: number }>();

/**
 * The people the percentages are of when a batch does not say: the running person entities on the task queue
 * (Temporal visibility), counted at most once a minute per process.
 */
export async function countPopulation(client: Client, taskQueue: string): Promise<number> {
  const key = `${client.options.namespace}/${taskQueue}`;
  const cached = populations.get(key);
  if (cached && Date.now() - cached.at < POPULATION_TTL_MS) return cached.value;
  const { count } = await client.workflow.count(
    `WorkflowType = 'employeeWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue.replace(/'/g, '')}'`,
  );
  populations.set(key, { at: Date.now(), value: count });
  return count;
}

/** Asks the guard workflow (started on first use) to admit or hold a batch. */
export function admitToGuard(client: Client, taskQueue: string, input: AdmitInput): Promise<AdmitAnswer> {
  const startWorkflowOperation = new WithStartWorkflowOperation('guardWorkflow', {
    workflowId: guardWorkflowId(taskQueue),
    taskQueue,
    args: [{}],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return client.workflow.executeUpdateWithStart(admitUpdate, { args: [input], startWorkflowOperation });
}

/** The record each person's entity last accepted (absent for people it does not know). */
async function previousRecords(client: Client, hrIds: readonly string[]): Promise<Record<string, EmployeeRecord>> {
  const out: Record<string, EmployeeRecord> = {};
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < hrIds.length) {
      const hrId = hrIds[next++] ?? '';
      try {
        const status = await client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
        if (status.record) out[hrId] = status.record;
      } catch {
        // Not known yet (a first event): nothing to compare with.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, hrIds.length) }, lane));
  return out;
}

interface Classified {
  settings: GuardSettings;
  /** Index of each event that must pass the guard. */
  guardedIdx: Set<number>;
  impact: Impact;
}

function classify(policy: Policy, batch: GuardBatch, previous: Record<string, EmployeeRecord>): Classified {
  const settings = {
    ...resolveGuardSettings(policy.guard),
    ...(batch.review !== undefined ? { review: batch.review } : {}),
  };
  const now = new Date().toISOString();
  const guardedIdx = new Set<number>();
  const impacts: Impact[] = [];
  const personGuarded = new Set<string>();
  batch.events.forEach((event, i) => {
    const hrId = event.record.hrId;
    const impact = eventImpact(event, policy, now, previous[hrId]);
    if (settings.review !== undefined || takesAway(impact, settings) || personGuarded.has(hrId)) {
      guardedIdx.add(i);
      personGuarded.add(hrId);
      impacts.push(impact);
    }
  });
  for (const a of batch.actions ?? []) impacts.push(actionImpact(a));
  return { settings, guardedIdx, impact: addImpacts(...impacts) };
}

async function deliverAll(
  client: Client,
  taskQueue: string,
  events: readonly HrEvent[],
): Promise<Map<string, { result?: DeliverEventResult; error?: string }>> {
  const out = new Map<string, { result?: DeliverEventResult; error?: string }>();
  const byPerson = new Map<string, HrEvent[]>();
  for (const e of events) byPerson.set(e.record.hrId, [...(byPerson.get(e.record.hrId) ?? []), e]);
  const lanes = [...byPerson.values()];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < lanes.length) {
      for (const event of lanes[next++] ?? []) {
        try {
          out.set(event.eventId, { result: await deliverHrEvent(client, taskQueue, event) });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) {
            out.set(event.eventId, {
              result: { outcome: 'rejected', eventId: event.eventId, reason: err.cause?.message ?? err.message },
            });
          } else {
            out.set(event.eventId, { error: `could not reach Temporal: ${(err as Error).message}` });
          }
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, lanes.length) }, lane));
  return out;
}

/**
 * Every path that changes access delivers through here, so the mass-change guard sees it: one call per run (a sync,
 * a reconciliation, an import, a policy adoption). See the module comment for what is held.
 */
export async function deliverGuarded(
  client: Client,
  taskQueue: string,
  policy: Policy,
  batch: GuardBatch,
): Promise<GuardedDelivery> {
  const actions = batch.actions ?? [];
  const changed = [...new Set(batch.events.filter((e) => e.kind === 'change').map((e) => e.record.hrId))];
  const previous =
    batch.previous ?? (batch.path !== 'webhook' && changed.length > 0 ? await previousRecords(client, changed) : {});
  const c = classify(policy, batch, previous);
  const free = batch.events.filter((_, i) => !c.guardedIdx.has(i));
  const guarded = batch.events.filter((_, i) => c.guardedIdx.has(i));

  const delivered = await deliverAll(client, taskQueue, free);
  let answer: AdmitAnswer = { decision: 'admitted', reasons: [] };
  if (guarded.length > 0 || actions.length > 0) {
    const population = batch.population ?? (await countPopulation(client, taskQueue));
    answer = await admitToGuard(client, taskQueue, {
      path: batch.path,
      batchId: `${batch.path}:${batch.batchId}`,
      population,
      settings: c.settings,
      impact: c.impact,
      events: guarded,
      actions,
    });
    if (answer.decision === 'admitted') {
      for (const [id, r] of await deliverAll(client, taskQueue, guarded)) delivered.set(id, r);
    }
  }
  const held = answer.decision === 'held';
  return {
    held,
    ...(answer.holdId ? { holdId: answer.holdId } : {}),
    reasons: answer.reasons,
    results: batch.events.map((e) => {
      const d = delivered.get(e.eventId);
      if (!d) return { eventId: e.eventId, held: true as const };
      return { eventId: e.eventId, ...(d.result ? { result: d.result } : {}), ...(d.error ? { error: d.error } : {}) };
    }),
    ...(answer.actionResults ? { actionResults: answer.actionResults } : {}),
  };
}

export type GuardedEvent =
  { held: false; result: DeliverEventResult } | { held: true; holdId: string; reasons: string[] };

/**
 * One webhook event through the guard (a batch of one, id `webhook:<eventId>`, so a retried webhook gets the same
 * decision). An event that takes nothing away goes straight to its entity. Errors are thrown as `deliverHrEvent`
 * throws them. Without a policy (an intake with none loaded) nothing is guarded.
 */
export async function deliverOneGuarded(
  client: Client,
  taskQueue: string,
  policy: Policy | undefined,
  event: HrEvent,
  path: GuardPath = 'webhook',
): Promise<GuardedEvent> {
  if (!policy) return { held: false, result: await deliverHrEvent(client, taskQueue, event) };
  const c = classify(policy, { path, batchId: event.eventId, events: [event] }, {});
  if (c.guardedIdx.size === 0) return { held: false, result: await deliverHrEvent(client, taskQueue, event) };
  const answer = await admitToGuard(client, taskQueue, {
    path,
    batchId: `${path}:${event.eventId}`,
    population: await countPopulation(client, taskQueue),
    settings: c.settings,
    impact: c.impact,
    events: [event],
    actions: [],
  });
  if (answer.decision === 'held') return { held: true, holdId: answer.holdId ?? '', reasons: answer.reasons };
  return { held: false, result: await deliverHrEvent(client, taskQueue, event) };
}

export type { AccountActionResult, HoldDetail, HoldSummary } from '../workflows/guard/messages';
