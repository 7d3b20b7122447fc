/**
 * The sync workflow's activity: read the roster, compare each person with what their entity last accepted, turn
 * every difference into the HR event a webhook would have sent, and deliver them as one guarded batch
 * (`deliverGuarded`, path `sync`, the run's id as batch id). People Tenure knows who are no longer in the roster are
 * reported (evidence and the summary), never terminated. Idempotent: event ids are per (person, record content), so
 * a retried or repeated run delivers duplicates; evidence keys are per run.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { AuditStore } from '../activities/audit/types';
import type { LoadedPolicy } from '../config/policy-file';
import type { EmployeeRecord, HrEvent } from '../domain/employee';
import { employeeWorkflowId } from '../domain/ids';
import { wallClock } from '../domain/time';
import type { SyncPolicy } from '../domain/policy-sync';
import { deliverGuarded } from '../guard';
import { employeeStatusQuery, type EmployeeStatus } from '../workflows/employee/messages';
import type { SyncRunInput, SyncSummary } from '../workflows/sync/types';
import { bambooRosterSource } from './bamboohr-source';
import { csvRosterSource } from './csv-source';
import { hibobRosterSource } from './hibob-source';
import { workdayRosterSource } from './workday-source';
import { diffPerson, syncEventId } from './diff';
import type { RosterSource } from './roster-source';

export interface SyncActivityDeps {
  policy: LoadedPolicy;
  audit: AuditStore;
  taskQueue: string;
  vars: NodeJS.ProcessEnv;
  client: () => Promise<Client>;
  /** Tests: a source of their own instead of the policy's. */
  source?: RosterSource;
}

const SYNC_ACTOR = { type: 'system', id: 'tenure-sync' } as const;
const CONCURRENCY = 8;

/** The policy's source, its secret read from the environment variable the policy names. */
export function rosterSourceFromPolicy(sync: SyncPolicy, vars: NodeJS.ProcessEnv): RosterSource {
  const src = sync.source;
  if (src.type === 'csv') return csvRosterSource({ path: src.path });
  const secret = (name: string): string => {
    const v = vars[name];
    if (!v) throw new Error(`sync: environment variable ${name} is not set`);
    return v;
  };
  const mapping = {
    locations: src.locations,
    ...(src.defaultLocation ? { defaultLocation: src.defaultLocation } : {}),
  };
  if (src.type === 'hibob') {
    const [serviceUserId, token] = [secret(src.serviceUserIdEnv), secret(src.tokenEnv)];
    return hibobRosterSource({ baseUrl: src.baseUrl, serviceUserId, token, mapping });
  }
  if (src.type === 'workday') {
    const [username, password] = [secret(src.usernameEnv), secret(src.passwordEnv)];
    return workdayRosterSource({
      reportUrl: src.reportUrl,
      username,
      password,
      prompts: src.prompts,
      mapping: { ...mapping, fields: src.fields, workerTypes: src.workerTypes },
    });
  }
  const apiKey = vars[src.apiKeyEnv];
  if (!apiKey) throw new Error(`sync: environment variable ${src.apiKeyEnv} is not set`);
  return bambooRosterSource({
    baseUrl: src.baseUrl,
    apiKey,
    mapping: { locations: src.locations, ...(src.defaultLocation ? { defaultLocation: src.defaultLocation } : {}) },
  });
}

function heartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not in an activity (a direct call)
  }
}

async function statusOf(client: Client, hrId: string): Promise<EmployeeStatus | undefined> {
  try {
    return await client.workflow.getHandle(employeeWorkflowId(hrId)).query(employeeStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** The HR ids of every person entity on the task queue (Temporal visibility). */
async function knownPeople(client: Client, taskQueue: string): Promise<string[]> {
  const out: string[] = [];
  const q = `WorkflowType = 'employeeWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue.replace(/'/g, '')}'`;
  for await (const wf of client.workflow.list({ query: q })) {
    if (wf.workflowId.startsWith('employee/')) out.push(wf.workflowId.slice('employee/'.length));
  }
  return out;
}

/** The summary of the newest completed sync run on the task queue (scheduled or `tenure sync run`), if any. */
async function lastCompletedRun(client: Client, taskQueue: string): Promise<SyncSummary | undefined> {
  const q = `WorkflowType = 'syncWorkflow' AND ExecutionStatus = 'Completed' AND TaskQueue = '${taskQueue.replace(/'/g, '')}'`;
  let newest: SyncSummary | undefined;
  let seen = 0;
  for await (const wf of client.workflow.list({ query: q })) {
    const summary = (await client.workflow.getHandle(wf.workflowId, wf.runId).result()) as SyncSummary;
    if (!newest || summary.startedAt > newest.startedAt) newest = summary;
    if (++seen >= 10) break;
  }
  return newest;
}

export function createSyncActivities(deps: SyncActivityDeps) {
  return {
    async runRosterSync(input: SyncRunInput): Promise<SyncSummary> {
      const sync = deps.policy.policy.sync;
      if (!sync && !deps.source) throw new Error('sync: the policy has no sync section');
      const source = deps.source ?? rosterSourceFromPolicy(sync as SyncPolicy, deps.vars);
      const client = await deps.client();
      const startedAt = new Date().toISOString();
      const last = await lastCompletedRun(client, deps.taskQueue);
      const lastFullAt = last?.mode === 'incremental' ? last.lastFullAt : last?.startedAt;
      // Incremental: who changed since the last completed run started (so a failed run's window is read again).
      const incremental =
        sync?.mode === 'incremental' &&
        source.incremental &&
        input.full !== true &&
        last !== undefined &&
        lastFullAt !== undefined &&
        Date.now() - Date.parse(lastFullAt) < sync.fullEvery;
      const mode: SyncSummary['mode'] = incremental ? 'incremental' : 'full';

      const records: EmployeeRecord[] = [];
      const invalid: { ref: string; issues: string[] }[] = [];
      const seen = new Set<string>();
      for await (const entry of source.read(incremental ? { changedSince: last.startedAt } : {})) {
        if (!entry.ok) invalid.push({ ref: entry.ref, issues: entry.issues });
        else if (!seen.has(entry.record.hrId)) {
          seen.add(entry.record.hrId);
          records.push(entry.record);
        }
        if ((records.length + invalid.length) % 100 === 0) heartbeat({ read: records.length });
      }

      const events: HrEvent[] = [];
      const planned: SyncSummary['planned'] = [];
      let unchanged = 0;
      const receivedAt = new Date().toISOString();
      await eachLimited(records, async (record) => {
        const status = await statusOf(client, record.hrId);
        const d = diffPerson(record, {
          ...(status?.record ? { record: status.record } : {}),
          hasAcceptedHire: status?.events.some((e) => e.kind === 'hire' && e.outcome === 'accepted') ?? false,
        });
        if (d.kind === null) {
          unchanged += 1;
          return;
        }
        const eventId = syncEventId(record);
        events.push({ eventId, source: `sync:${source.name}`, kind: d.kind, record, receivedAt });
        planned.push({ hrId: record.hrId, kind: d.kind, eventId, fields: d.fields });
      });
      // Stable order: the guard holds per person, and a summary reads the same every run.
      events.sort((a, b) => a.record.hrId.localeCompare(b.record.hrId));
      planned.sort((a, b) => a.hrId.localeCompare(b.hrId));

      const vanished: SyncSummary['vanished'] = [];
      const vanishedRecords = new Map<string, EmployeeRecord>();
      const known = await knownPeople(client, deps.taskQueue);
      // Only a full read says who is no longer in the roster.
      await eachLimited(mode === 'full' ? known.filter((id) => !seen.has(id)) : [], async (hrId) => {
        const status = await statusOf(client, hrId);
        if (!status?.record || status.record.status === 'terminated') return;
        vanished.push({ hrId, lastStatus: status.record.status });
        vanishedRecords.set(hrId, status.record);
      });
      vanished.sort((a, b) => a.hrId.localeCompare(b.hrId));
      const onVanished = sync?.onVanished ?? 'report';

      const guarded = await deliverGuarded(client, deps.taskQueue, deps.policy.policy, {
        path: 'sync',
        batchId: input.runId,
        population: Math.max(records.length, known.length),
        events,
      });
      const outcomes: Record<string, number> = {};
      for (const r of guarded.results) {
        const o = r.held ? 'held' : r.error !== undefined ? 'failed' : (r.result?.outcome ?? 'failed');
        outcomes[o] = (outcomes[o] ?? 0) + 1;
      }
      const summary: SyncSummary = {
        runId: input.runId,
        source: source.name,
        mode,
        ...(mode === 'incremental' ? { changedSince: last?.startedAt } : {}),
        lastFullAt: mode === 'full' ? startedAt : (lastFullAt ?? startedAt),
        startedAt,
        finishedAt: new Date().toISOString(),
        read: records.length,
        invalid: invalid.map((i) => ({ ref: i.ref, issues: i.issues })),
        unchanged,
        planned,
        outcomes,
        held: guarded.held,
        ...(guarded.holdId !== undefined ? { holdId: guarded.holdId } : {}),
        reasons: guarded.reasons,
        vanished,
        onVanished,
      };
      if (onVanished === 'terminate_after_review' && vanished.length > 0) {
        // Each vanished person's termination, as HR would send it today, held for an operator: never run unseen.
        const review = await deliverGuarded(client, deps.taskQueue, deps.policy.policy, {
          path: 'sync',
          batchId: `${input.runId}:vanished`,
          population: Math.max(records.length, known.length),
          review: `${vanished.length} people are no longer in the ${source.name} roster`,
          events: vanished.map((v) => vanishedTermination(vanishedRecords.get(v.hrId) as EmployeeRecord, source.name)),
        });
        if (review.holdId !== undefined) summary.vanishedHoldId = review.holdId;
      }

      for (const v of vanished) {
        await deps.audit.append({
          key: `sync:${input.runId}:vanished:${v.hrId}`,
          at: summary.finishedAt,
          hrId: v.hrId,
          actor: SYNC_ACTOR,
          action: 'sync_vanished',
          requestId: input.runId,
          outcome: summary.vanishedHoldId !== undefined ? 'held' : 'reported',
          detail: {
            source: source.name,
            lastStatus: v.lastStatus,
            onVanished: summary.onVanished,
            ...(summary.vanishedHoldId !== undefined ? { holdId: summary.vanishedHoldId } : {}),
          },
        });
      }
      await deps.audit.append({
        key: `sync:${input.runId}:summary`,
        at: summary.finishedAt,
        actor: SYNC_ACTOR,
        action: 'sync_run',
        requestId: input.runId,
        outcome: guarded.held ? 'held' : 'completed',
        detail: {
          source: source.name,
          read: summary.read,
          invalid: summary.invalid.length,
          unchanged,
          kinds: countBy(planned.map((p) => p.kind)),
          outcomes,
          vanished: vanished.length,
          ...(guarded.holdId !== undefined ? { holdId: guarded.holdId } : {}),
        },
      });
      return summary;
    },
  };
}

/**
 * The termination HR would send for a person who left the roster: their last accepted record, terminated today in
 * their own time zone. Its id is per person and day, so a rerun the same day is the same held event.
 */
function vanishedTermination(last: EmployeeRecord, source: string): HrEvent {
  const today = wallClock(new Date(), last.location.timeZone).date;
  const record: EmployeeRecord = {
    ...last,
    status: 'terminated',
    exitDate: today,
    sourceUpdatedAt: new Date().toISOString(),
  };
  return {
    eventId: `sync-vanished:${last.hrId}:${today}`,
    source: `sync:${source}`,
    kind: 'termination',
    record,
    receivedAt: new Date().toISOString(),
  };
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
