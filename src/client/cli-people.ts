/**
 * `tenure approvals`, `tenure tasks` and `tenure task complete <taskId>`: what is waiting on whom, since when, and
 * the terminal's way to close a manual task. Listings come from Temporal visibility (Tenure's search attributes and
 * the workflows' memo), so they work without a worker; completion is the workflow's `completeTask` Update, which
 * verifies by reading the app before the task closes.
 *
 * Run on its own: `node -r tsx/cjs src/client/cli-people.ts tasks`.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Writable } from 'node:stream';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { Command } from 'commander';
import { openAuditStore } from '../activities/audit';
import type { AuditStore } from '../activities/audit/types';
import { withCliClient } from '../app/cli-context';
import { manualTaskWorkflowId, parsePeopleWorkflowId } from '../domain/approval';
import { hrIdSchema } from '../domain/employee';
import { auditStoreOptionsFromEnv } from './cli-audit';
import { EMPLOYEE_ID, STAGE, WAITING_ON } from '../workflows/search-attributes';
import type { ManualTaskStatus } from '../workflows/task/messages';
import { completeTaskUpdate, taskStatusQuery } from '../workflows/task/messages';

export interface PeopleCliIo {
  stdout: Writable;
  stderr: Writable;
  /** Runs `fn` with a Temporal client. @default TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, and the codec keys when set */
  withClient: <T>(fn: (client: Client) => Promise<T>) => Promise<T>;
  /**
   * Opens the audit store a refused `task complete` is recorded in; the command closes it after. `undefined`: the
   * refusal is only printed. @default DATABASE_URL, else the embedded store (when it exists), as `tenure audit` does
   */
  openAudit?: () => Promise<AuditStore>;
  /** Who runs the command, recorded as `cli:<name>`. @default $TENURE_OPERATOR, else the OS user name */
  operator: () => string;
  setExitCode: (code: number) => void;
  /** @default Date.now */
  now: () => number;
  /** How long `task complete` waits for the verification. @default 150000 (the workflow gives a read 2 minutes) */
  verifyTimeoutMs: number;
}

const VERIFY_POLL_MS = 250;

/** One waiting approval or task as `tenure approvals` / `tenure tasks` show it. */
export interface WaitingItem {
  /** The request id (`<hrId>/<eventId>/<systemId>`) or the task id (`<hrId>/<eventId>/<systemId>/<action>`). */
  id: string;
  workflowId: string;
  hrId?: string;
  systemId?: string;
  stage?: string;
  /** Slack user ids (as `slack:<id>`). */
  waitingOn: string[];
  /** When the current wait began (the level opened, or it was escalated). */
  since: string;
  /** When it escalates or times out, if it will. */
  deadline?: string;
}

const WORKFLOW_TYPES = { approvals: 'approvalWorkflow', tasks: 'manualTaskWorkflow' } as const;

const defaultWithClient = withCliClient;

/** Running approvals or tasks, oldest wait first, from visibility. */
export async function listWaiting(
  client: Client,
  what: keyof typeof WORKFLOW_TYPES,
  opts: { hrId?: string; limit?: number } = {},
): Promise<WaitingItem[]> {
  const clauses = [`WorkflowType = '${WORKFLOW_TYPES[what]}'`, `ExecutionStatus = 'Running'`];
  if (opts.hrId !== undefined) {
    if (!hrIdSchema.safeParse(opts.hrId).success) throw new Error(`"${opts.hrId}" is not an HR id`);
    clauses.push(`${EMPLOYEE_ID.name} = '${opts.hrId}'`);
  }
  const items: WaitingItem[] = [];
  for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
    const ref = parsePeopleWorkflowId(wf.workflowId);
    const memo = (wf.memo ?? {}) as { waitingSince?: unknown; deadline?: unknown };
    const waiting = wf.typedSearchAttributes.get(WAITING_ON);
    const hrId = wf.typedSearchAttributes.get(EMPLOYEE_ID) ?? ref?.hrId;
    const stage = wf.typedSearchAttributes.get(STAGE);
    items.push({
      id: ref ? (ref.kind === 'task' ? ref.taskId : `${ref.hrId}/${ref.eventId}/${ref.systemId}`) : wf.workflowId,
      workflowId: wf.workflowId,
      ...(hrId ? { hrId } : {}),
      ...(ref ? { systemId: ref.systemId } : {}),
      ...(stage ? { stage } : {}),
      waitingOn: waiting ? waiting.split(',') : [],
      since: typeof memo.waitingSince === 'string' ? memo.waitingSince : wf.startTime.toISOString(),
      ...(typeof memo.deadline === 'string' ? { deadline: memo.deadline } : {}),
    });
    if (opts.limit !== undefined && items.length >= opts.limit) break;
  }
  return items.sort((a, b) => a.since.localeCompare(b.since));
}

/** "3m", "2h 5m", "4d 1h": how long ago. */
function age(fromIso: string, now: number): string {
  let s = Math.max(0, Math.floor((now - Date.parse(fromIso)) / 1000));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3_600);
  s -= h * 3_600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [d && `${d}d`, h && `${h}h`, m && `${m}m`, `${s}s`].filter(Boolean) as string[];
  return parts.slice(0, 2).join(' ');
}

export function formatWaiting(items: WaitingItem[], now: number, noun: string): string {
  if (items.length === 0) return `no ${noun} waiting\n`;
  const header = ['ID', 'STAGE', 'WAITING ON', 'SINCE', 'FOR', 'DEADLINE'];
  const rows = items.map((i) => [
    i.id,
    i.stage ?? '',
    i.waitingOn.join(' ') || '-',
    i.since,
    age(i.since, now),
    i.deadline ?? '-',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function out(stream: Writable, text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function defaultOpenAudit(): Promise<AuditStore> {
  const opts = auditStoreOptionsFromEnv(process.env);
  if (opts.dataDir && !existsSync(opts.dataDir)) throw new Error(`no audit store at ${opts.dataDir}`);
  return openAuditStore(opts);
}

function defaultOperator(): string {
  const name = process.env.TENURE_OPERATOR ?? userInfo().username;
  return name.replace(/\s+/g, '_');
}

/** Adds `approvals`, `tasks` and `task complete` to the `tenure` program. */
export function registerPeopleCommands(program: Command, overrides: Partial<PeopleCliIo> = {}): void {
  const io: PeopleCliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    withClient: defaultWithClient,
    openAudit: defaultOpenAudit,
    operator: defaultOperator,
    setExitCode: (code) => {
      process.exitCode = code;
    },
    now: Date.now,
    verifyTimeoutMs: 150_000,
    ...overrides,
  };

  for (const what of ['approvals', 'tasks'] as const) {
    program
      .command(what)
      .description(
        what === 'approvals'
          ? 'approvals waiting for a decision: on whom (Slack users), since when, until when'
          : 'manual tasks waiting to be done: on whom (Slack users), since when',
      )
      .option('--hr-id <hrId>', "only one person's")
      .option('--json', 'print JSON')
      .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10))
      .action((opts: { hrId?: string; json?: boolean; limit?: number }) =>
        io.withClient(async (client) => {
          const items = await listWaiting(client, what, {
            ...(opts.hrId !== undefined ? { hrId: opts.hrId } : {}),
            ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
          });
          out(io.stdout, opts.json ? JSON.stringify(items, null, 2) : formatWaiting(items, io.now(), what));
        }),
      );
  }

  const task = program.command('task').description('manual tasks for apps with no API');
  task
    .command('complete')
    .description('mark a manual task done (verified by reading the app when it can be read); exits 1 when refused')
    .argument('<taskId>', '<hrId>/<eventId>/<systemId>/<action>, as `tenure tasks` shows it')
    .option('--note <text>', 'what was done, for the audit trail (no personal data)')
    .option('--as <name>', 'operator name recorded as the completer (default: $TENURE_OPERATOR or your user name)')
    .action((taskId: string, opts: { note?: string; as?: string }) =>
      io.withClient(async (client) => {
        const by = `cli:${opts.as ?? io.operator()}`;
        let workflowId: string;
        try {
          workflowId = manualTaskWorkflowId(taskId);
        } catch (err) {
          out(io.stderr, `tenure: ${(err as Error).message}`);
          io.setExitCode(2);
          return;
        }
        const refuse = async (code: string, message: string): Promise<void> => {
          out(io.stderr, `refused: ${message}`);
          io.setExitCode(1);
          await recordRefusal(io, { taskId, workflowId, by, code, message });
        };
        try {
          const handle = client.workflow.getHandle(workflowId);
          const claimed = await handle.executeUpdate(completeTaskUpdate, {
            args: [{ by, ...(opts.note ? { note: opts.note } : {}) }],
            updateId: `cli:${randomUUID()}`,
          });
          const status = await verificationOutcome(handle, claimed.round, io.verifyTimeoutMs);
          if (status.state === 'done') {
            const how =
              status.verification === 'verified'
                ? ' (verified by reading the app)'
                : ' (the app cannot be read: not verified)';
            out(io.stdout, `task ${taskId} is done${how}`);
          } else if (status.state === 'verifying') {
            out(io.stdout, `task ${taskId}: still verifying; see \`tenure tasks\``);
            io.setExitCode(1);
          } else {
            out(io.stdout, `task ${taskId} is not done: ${status.verificationError ?? status.state}`);
            io.setExitCode(1);
          }
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) {
            const cause = err.cause;
            return refuse(
              cause instanceof ApplicationFailure ? (cause.type ?? 'Refused') : 'Refused',
              cause?.message ?? err.message,
            );
          }
          if (err instanceof WorkflowNotFoundError) {
            const closed = await client.workflow
              .getHandle(workflowId)
              .query(taskStatusQuery)
              .catch(() => undefined);
            return closed
              ? refuse(
                  'TaskClosed',
                  `this task is closed (${closed.state}${closed.completedBy ? ` by ${closed.completedBy}` : ''})`,
                )
              : refuse('UnknownTask', 'no task has this id');
          }
          throw err;
        }
      }),
    );
}

/** Waits for the verification of the completion taken in `round`: the task is done, or a new round began. */
async function verificationOutcome(
  handle: WorkflowHandle,
  round: number,
  timeoutMs: number,
): Promise<ManualTaskStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await handle.query(taskStatusQuery);
    if (s.state !== 'verifying' || s.round > round || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, VERIFY_POLL_MS));
  }
}

async function recordRefusal(
  io: PeopleCliIo,
  r: { taskId: string; workflowId: string; by: string; code: string; message: string },
): Promise<void> {
  if (!io.openAudit) return;
  const ref = parsePeopleWorkflowId(r.workflowId);
  let store: AuditStore | undefined;
  try {
    store = await io.openAudit();
    await store.append({
      key: `cli:${randomUUID()}`,
      at: new Date(io.now()).toISOString(),
      ...(ref ? { hrId: ref.hrId, systemId: ref.systemId } : {}),
      actor: { type: 'person', id: r.by },
      action: 'manual_task_refused',
      requestId: r.workflowId,
      outcome: 'refused',
      detail: { code: r.code, reason: r.message, taskId: r.taskId, via: 'cli' },
    });
  } catch (err) {
    out(io.stderr, `warning: the refusal was not recorded in the audit store: ${(err as Error).message}`);
  } finally {
    await store?.close().catch(() => undefined);
  }
}

if (require.main === module) {
  const program = new Command('tenure').description('Tenure: approvals and manual tasks');
  registerPeopleCommands(program);
  program.parseAsync(process.argv).catch((err: unknown) => {
    process.stderr.write(`tenure: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
