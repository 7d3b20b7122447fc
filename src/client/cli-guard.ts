/**
 * `tenure guard list|show|release|discard`: the operator's side of the mass-change guard (docs/guard.md). A hold is
 * a set of changes that would take access away past the policy's thresholds; nothing in it has run. `list` shows the
 * holds (open first), `show` one hold's items (HR ids, event kinds, systems and account ids, never names), `release`
 * delivers it (the same events to the same entities, the account actions through the connectors) and `discard`
 * drops it. Both decisions are evidence with the operator's name.
 */
import { userInfo } from 'node:os';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { cliVars, withCliClient } from '../app/cli-context';
import { TASK_QUEUE } from '../domain/ids';
import type { HoldDetail, HoldSummary } from '../workflows/guard/messages';
import {
  discardHoldUpdate,
  guardWorkflowId,
  holdQuery,
  holdsQuery,
  releaseHoldUpdate,
} from '../workflows/guard/messages';

export interface GuardCommandDeps {
  withClient?: <T>(fn: (client: Client) => Promise<T>) => Promise<T>;
  stdout?: Pick<NodeJS.WriteStream, 'write'>;
  taskQueue?: string;
}

/** Every hold the guard keeps, newest first; none when the guard has never held or admitted anything. */
export async function listHolds(client: Client, taskQueue: string): Promise<HoldSummary[]> {
  try {
    return await client.workflow.getHandle(guardWorkflowId(taskQueue)).query(holdsQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return [];
    throw err;
  }
}

export async function showHold(client: Client, taskQueue: string, holdId: string): Promise<HoldDetail | null> {
  try {
    return await client.workflow.getHandle(guardWorkflowId(taskQueue)).query(holdQuery, holdId);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Releases or discards an open hold; throws an Error naming why it could not (unknown, already decided). */
export async function decideHold(
  client: Client,
  taskQueue: string,
  decision: 'release' | 'discard',
  input: { holdId: string; by: string; note?: string },
): Promise<HoldSummary> {
  const handle = client.workflow.getHandle(guardWorkflowId(taskQueue));
  try {
    return await handle.executeUpdate(decision === 'release' ? releaseHoldUpdate : discardHoldUpdate, {
      args: [input],
    });
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Error(`no hold ${input.holdId}: the guard has held nothing`);
    if (err instanceof WorkflowUpdateFailedError) throw new Error(err.cause?.message ?? err.message);
    throw err;
  }
}

const impactText = (h: HoldSummary): string =>
  Object.entries(h.impact as unknown as Record<string, unknown>)
    .filter(([, v]) => typeof v === 'number' && v > 0)
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');

function holdsTable(holds: HoldSummary[]): string {
  if (holds.length === 0) return 'no holds\n';
  const rows = [['HOLD', 'PATH', 'STATUS', 'HELD AT', 'EVENTS', 'ACTIONS', 'DECIDED BY', 'REASONS']];
  for (const h of holds) {
    rows.push([
      h.holdId,
      h.path,
      h.status,
      h.heldAt,
      String(h.events),
      String(h.actions),
      h.decidedBy ?? '',
      h.reasons.join('; '),
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

function holdText(h: HoldDetail): string {
  const lines = [
    `${h.holdId} (${h.path}) ${h.status}, held at ${h.heldAt}`,
    `population: ${h.population}; takes away: ${impactText(h) || 'nothing counted'}`,
    ...h.reasons.map((r) => `  crossed: ${r}`),
  ];
  if (h.decidedBy) lines.push(`decided by ${h.decidedBy} at ${h.decidedAt ?? '?'}${h.note ? `: ${h.note}` : ''}`);
  if (h.released) {
    const r = h.released;
    lines.push(
      `released: ${r.delivered} delivered (${r.accepted} accepted, ${r.duplicate} duplicate, ${r.rejected} rejected, ${r.failed} failed), ${r.actions.length} account action(s)`,
    );
  }
  for (const i of h.items) {
    lines.push(
      i.type === 'hr_event'
        ? `  event ${i.eventId ?? ''}: ${i.kind ?? ''} for ${i.hrId ?? ''}`
        : `  account ${i.systemId ?? ''}/${i.accountId ?? ''}: ${i.action ?? ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const operator = (): string => `cli:${cliVars().TENURE_OPERATOR ?? userInfo().username}`;

/** Adds `guard` to the `tenure` program. */
export function registerGuardCommands(program: Command, deps: GuardCommandDeps = {}): Command {
  const run = deps.withClient ?? withCliClient;
  const stdout = deps.stdout ?? process.stdout;
  const queue = (): string => deps.taskQueue ?? cliVars().TENURE_TASK_QUEUE ?? TASK_QUEUE;
  const guard = program.command('guard').description('list, show, release or discard what the mass-change guard held');
  guard
    .command('list')
    .description('every hold, newest first')
    .option('--json', 'print JSON', false)
    .action(async (opts: { json: boolean }) => {
      const holds = await run((c) => listHolds(c, queue()));
      stdout.write(opts.json ? `${JSON.stringify(holds, null, 2)}\n` : holdsTable(holds));
    });
  guard
    .command('show')
    .description("one hold's items: HR ids, event kinds, systems and account ids")
    .argument('<holdId>')
    .option('--json', 'print JSON', false)
    .action(async (holdId: string, opts: { json: boolean }) => {
      const h = await run((c) => showHold(c, queue(), holdId));
      if (!h) {
        process.stderr.write(`no hold ${holdId}\n`);
        process.exitCode = 1;
        return;
      }
      stdout.write(opts.json ? `${JSON.stringify(h, null, 2)}\n` : holdText(h));
    });
  for (const decision of ['release', 'discard'] as const) {
    guard
      .command(decision)
      .description(
        decision === 'release'
          ? 'deliver what the hold holds (the same events to the same people, the account actions)'
          : 'drop what the hold holds: nothing of it runs',
      )
      .argument('<holdId>')
      .option('--note <text>', 'why, for the evidence')
      .option('--json', 'print JSON', false)
      .action(async (holdId: string, opts: { note?: string; json: boolean }) => {
        try {
          const h = await run((c) =>
            decideHold(c, queue(), decision, { holdId, by: operator(), ...(opts.note ? { note: opts.note } : {}) }),
          );
          stdout.write(opts.json ? `${JSON.stringify(h, null, 2)}\n` : holdText({ ...h, items: [] }));
        } catch (err) {
          process.stderr.write(`${(err as Error).message}\n`);
          process.exitCode = 1;
        }
      });
  }
  return guard;
}
