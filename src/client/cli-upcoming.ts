/**
 * `tenure upcoming [--days N] [--format table|csv|json]`: what takes effect in the next N days — starts, exits,
 * leaves and returns, moves, grace-period revocations and retention deletions — each at its instant in the person's
 * time zone and in UTC, and what is waiting on a person (approvals, manual tasks, operator exceptions).
 *
 * Sources: Temporal visibility finds the runs waiting for an instant in the window (`TenureEffectiveAt`,
 * `TenureEventKind`, `TenureStage`) and everything waiting on someone (`TenureWaitingOn`); the `status` query of each
 * running entity adds what has no workflow yet (queued runs, pending revocations, a scheduled deletion) and the
 * person's time zone. Only the deployment's task queue (`TENURE_TASK_QUEUE`) is listed, and an entity that does
 * not answer within 5 s is left out rather than holding up the list. No personal data beyond the HR id is printed.
 */
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { withCliClient } from '../app/cli-context';
import { TASK_QUEUE, employeeWorkflowId, eventWorkflowId } from '../domain/ids';
import { wallClock } from '../domain/time';
import type { EmployeeStatus } from '../workflows/employee/messages';
import { employeeStatusQuery } from '../workflows/employee/messages';
import { EFFECTIVE_AT, EMPLOYEE_ID, EVENT_KIND, STAGE, WAITING_ON } from '../workflows/search-attributes';

/** What a due item is, in an HR ops lead's words. */
export type UpcomingKind =
  'start' | 'exit' | 'cancelled_hire' | 'leave' | 'return' | 'move' | 'revocation' | 'deletion';

export interface UpcomingItem {
  kind: UpcomingKind;
  hrId: string;
  eventId: string;
  /** The run that carries it out (started, or the id it will start with). */
  workflowId?: string;
  /** The instant, UTC ISO. */
  at: string;
  /** The same instant on the wall clock of the person's zone, `YYYY-MM-DD HH:MM:SS`. */
  local?: string;
  timeZone?: string;
  /** `waiting` (a run waits for the instant), `queued` (behind another run), `scheduled` (the entity's own timer). */
  state: 'waiting' | 'queued' | 'scheduled';
  stage?: string;
  /** What it does, when there is more to say (the systems a revocation concerns). */
  detail?: string;
}

export interface WaitingOnPerson {
  what: 'approval' | 'task' | 'exception';
  workflowId: string;
  hrId?: string;
  /** `slack:<user>` ids, or `operator:<step ids>` / `operator:entity`. */
  waitingOn: string;
  stage?: string;
  since: string;
}

export interface Upcoming {
  from: string;
  to: string;
  due: UpcomingItem[];
  waiting: WaitingOnPerson[];
}

const KIND_OF_EVENT: Record<string, UpcomingKind> = {
  hire: 'start',
  rehire: 'start',
  termination: 'exit',
  cancel_hire: 'cancelled_hire',
  leave_start: 'leave',
  leave_end: 'return',
  change: 'move',
};

const WORKFLOW_WHAT: Record<string, WaitingOnPerson['what']> = {
  approvalWorkflow: 'approval',
  manualTaskWorkflow: 'task',
};

const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Everything due between `now` and `now + days`, and what waits on a person now. */
export async function listUpcoming(
  client: Client,
  opts: { days: number; now?: number; taskQueue?: string; queryTimeoutMs?: number },
): Promise<Upcoming> {
  // Only this deployment's runs (its task queue), and no person's answer may hold up the list.
  const scope = opts.taskQueue ? ` AND TaskQueue = '${opts.taskQueue.replace(/'/g, '')}'` : '';
  const statusOf = (workflowId: string): Promise<EmployeeStatus | undefined> =>
    Promise.race([
      client.workflow
        .getHandle(workflowId)
        .query(employeeStatusQuery)
        .catch(() => undefined),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), opts.queryTimeoutMs ?? 5000).unref()),
    ]);
  const now = opts.now ?? Date.now();
  const from = new Date(now);
  const to = new Date(now + opts.days * 86_400_000);
  const inWindow = (at: string): boolean => Date.parse(at) >= from.getTime() && Date.parse(at) <= to.getTime();
  const due = new Map<string, UpcomingItem>();
  const entities = new Map<string, EmployeeStatus>();

  // The entities: the person's zone, and what has no workflow yet.
  for await (const wf of client.workflow.list({
    query: `WorkflowType = 'employeeWorkflow' AND ExecutionStatus = 'Running'${scope}`,
  })) {
    const s = await statusOf(wf.workflowId);
    if (!s) continue;
    entities.set(s.hrId, s);
    for (const q of s.queue ?? []) {
      if (!inWindow(q.effectiveAt)) continue;
      const workflowId = q.workflowId ?? eventWorkflowId(s.hrId, q.kind, q.eventId);
      due.set(workflowId, {
        kind: q.eventId.endsWith('.grace') ? 'revocation' : (KIND_OF_EVENT[q.kind] ?? 'move'),
        hrId: s.hrId,
        eventId: q.eventId,
        workflowId,
        at: q.effectiveAt,
        state: 'queued',
      });
    }
    for (const p of s.pendingRevocations) {
      if (!inWindow(p.dueAt)) continue;
      const eventId = `${p.eventId}.grace`;
      due.set(`${s.hrId}/${eventId}`, {
        kind: 'revocation',
        hrId: s.hrId,
        eventId,
        workflowId: eventWorkflowId(s.hrId, 'change', eventId),
        at: p.dueAt,
        state: 'scheduled',
        detail: p.revocations
          .map((r) => (r.groups ? `${r.systemId} groups ${r.groups.join(' ')}` : r.systemId))
          .join('; '),
      });
    }
    if (s.deletion && inWindow(s.deletion.deleteAt)) {
      const eventId = `${s.deletion.eventId}.retention`;
      due.set(`${s.hrId}/${eventId}`, {
        kind: 'deletion',
        hrId: s.hrId,
        eventId,
        workflowId: eventWorkflowId(s.hrId, 'termination', eventId),
        at: s.deletion.deleteAt,
        state: 'scheduled',
        detail: s.deletion.systems.join(' '),
      });
    }
  }

  // Runs that wait for their instant inside the window.
  for await (const wf of client.workflow.list({
    query:
      [
        `ExecutionStatus = 'Running'`,
        `${EFFECTIVE_AT.name} >= '${iso(from)}'`,
        `${EFFECTIVE_AT.name} <= '${iso(to)}'`,
      ].join(' AND ') + scope,
  })) {
    const at = wf.typedSearchAttributes.get(EFFECTIVE_AT);
    const hrId = wf.typedSearchAttributes.get(EMPLOYEE_ID);
    const kind = wf.typedSearchAttributes.get(EVENT_KIND);
    if (!at || !hrId || !kind) continue;
    const stage = wf.typedSearchAttributes.get(STAGE);
    // Only runs still waiting: one that is carrying out its steps is not "upcoming".
    if (stage !== undefined && !stage.startsWith('waiting') && stage !== 'pre_provisioning') continue;
    const eventId = wf.workflowId.split('/').slice(3).join('/');
    due.set(wf.workflowId, {
      kind: eventId.endsWith('.grace') ? 'revocation' : (KIND_OF_EVENT[kind] ?? 'move'),
      hrId,
      eventId,
      workflowId: wf.workflowId,
      at: at.toISOString(),
      state: 'waiting',
      ...(stage ? { stage } : {}),
    });
  }

  // What waits on a person: approvals, manual tasks, runs with steps in exception, entities with exceptions.
  const waiting: WaitingOnPerson[] = [];
  for await (const wf of client.workflow.list({
    query: `ExecutionStatus = 'Running' AND ${WAITING_ON.name} IS NOT NULL${scope}`,
  })) {
    const on = wf.typedSearchAttributes.get(WAITING_ON);
    if (!on) continue;
    const hrId = wf.typedSearchAttributes.get(EMPLOYEE_ID) ?? wf.workflowId.split('/')[1];
    const stage = wf.typedSearchAttributes.get(STAGE);
    const memo = (wf.memo ?? {}) as { waitingSince?: unknown };
    waiting.push({
      what: WORKFLOW_WHAT[wf.type] ?? 'exception',
      workflowId: wf.workflowId,
      ...(hrId ? { hrId } : {}),
      waitingOn: on,
      ...(stage ? { stage } : {}),
      since: typeof memo.waitingSince === 'string' ? memo.waitingSince : wf.startTime.toISOString(),
    });
  }

  // The person's zone, from their entity (queried once per person).
  const zoneOf = async (hrId: string): Promise<string | undefined> => {
    let s = entities.get(hrId);
    if (!s) {
      s = await statusOf(employeeWorkflowId(hrId));
      if (s) entities.set(hrId, s);
    }
    return s?.record?.location.timeZone;
  };
  const items = [...due.values()];
  for (const item of items) {
    const timeZone = await zoneOf(item.hrId);
    if (!timeZone) continue;
    const w = wallClock(new Date(item.at), timeZone);
    item.timeZone = timeZone;
    item.local = `${w.date} ${w.time}`;
  }
  items.sort((a, b) => a.at.localeCompare(b.at) || a.hrId.localeCompare(b.hrId));
  waiting.sort((a, b) => a.since.localeCompare(b.since));
  return { from: from.toISOString(), to: to.toISOString(), due: items, waiting };
}

const DUE_COLUMNS = ['kind', 'hrId', 'local', 'timeZone', 'at', 'state', 'eventId', 'workflowId', 'detail'] as const;

function csvCell(v: string | undefined): string {
  const s = v ?? '';
  // Quoted when needed; a leading formula character is neutralised for spreadsheets.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** CSV: one table, `section` (`due` or `waiting`) first, the union of both sections' columns. */
export function upcomingCsv(u: Upcoming): string {
  const header = ['section', ...DUE_COLUMNS, 'what', 'waitingOn', 'since', 'stage'];
  const rows = [
    ...u.due.map((d) => ['due', ...DUE_COLUMNS.map((c) => d[c]), '', '', '', d.stage]),
    ...u.waiting.map((w) => [
      'waiting',
      '',
      w.hrId,
      '',
      '',
      '',
      '',
      '',
      w.workflowId,
      '',
      w.what,
      w.waitingOn,
      w.since,
      w.stage,
    ]),
  ];
  return [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n';
}

function table(header: readonly string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header.map((h) => h.toUpperCase()), ...rows]
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function upcomingTable(u: Upcoming): string {
  const out = [`due between ${u.from} and ${u.to}:`];
  if (u.due.length === 0) out.push('  nothing');
  else
    out.push(
      table(
        ['kind', 'hr id', 'local time', 'zone', 'utc', 'state', 'event', 'detail'],
        u.due.map((d) => [d.kind, d.hrId, d.local ?? '', d.timeZone ?? '', d.at, d.state, d.eventId, d.detail ?? '']),
      ),
    );
  out.push('', 'waiting on a person:');
  if (u.waiting.length === 0) out.push('  nobody');
  else
    out.push(
      table(
        ['what', 'hr id', 'waiting on', 'since', 'workflow'],
        u.waiting.map((w) => [w.what, w.hrId ?? '', w.waitingOn, w.since, w.workflowId]),
      ),
    );
  return `${out.join('\n')}\n`;
}

export function registerUpcomingCommands(program: Command, withClient = withCliClient): void {
  program
    .command('upcoming')
    .description(
      'starts, exits, leaves and pending revocations due in the next N days (local time and UTC), and what waits on a person',
    )
    .option('--days <n>', 'how many days ahead', (v) => Number(v), 7)
    .option('--format <format>', 'table, csv or json', 'table')
    .action(async (opts: { days: number; format: string }) => {
      if (!Number.isFinite(opts.days) || opts.days < 0) throw new Error('--days must be a number of days, 0 or more');
      if (!['table', 'csv', 'json'].includes(opts.format)) throw new Error('--format must be table, csv or json');
      const taskQueue = process.env.TENURE_TASK_QUEUE ?? TASK_QUEUE;
      const u = await withClient((client) => listUpcoming(client, { days: opts.days, taskQueue }));
      const text =
        opts.format === 'json'
          ? `${JSON.stringify(u, null, 2)}\n`
          : opts.format === 'csv'
            ? upcomingCsv(u)
            : upcomingTable(u);
      process.stdout.write(text);
    });
}
