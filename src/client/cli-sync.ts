/**
 * `tenure sync run|schedule`: the daily HR roster sync (docs: issue 14). `run` runs it now (a run of its own, the
 * same workflow the schedule starts) and prints its summary: what was read, every difference as the event sent,
 * the delivery outcomes, whether the guard held the batch, and who vanished from the roster (reported, never
 * terminated). `schedule` describes the Temporal Schedule `tenure-sync-<taskQueue>`.
 */
import type { Client } from '@temporalio/client';
import { ScheduleNotFoundError } from '@temporalio/client';
import type { Command } from 'commander';
import { cliVars, withCliClient } from '../app/cli-context';
import { TASK_QUEUE } from '../domain/ids';
import { runSyncNow, syncScheduleId } from '../sync/schedule';
import type { SyncSummary } from '../workflows/sync/types';

export interface SyncCommandDeps {
  withClient?: <T>(fn: (client: Client) => Promise<T>) => Promise<T>;
  stdout?: Pick<NodeJS.WriteStream, 'write'>;
  taskQueue?: string;
}

/** The schedule as the CLI shows it, or null when there is none (no `sync` section in the policy). */
export async function describeSyncSchedule(
  client: Client,
  taskQueue: string,
): Promise<{ scheduleId: string; spec: unknown; paused: boolean; recentRuns: number } | null> {
  const scheduleId = syncScheduleId(taskQueue);
  try {
    const d = await client.schedule.getHandle(scheduleId).describe();
    return {
      scheduleId,
      spec: d.spec,
      paused: d.state.paused,
      recentRuns: d.info.recentActions.length,
    };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return null;
    throw err;
  }
}

export function registerSyncCommands(program: Command, deps: SyncCommandDeps = {}): void {
  const withClient = deps.withClient ?? withCliClient;
  const out = deps.stdout ?? process.stdout;
  const queue = (): string => deps.taskQueue ?? cliVars().TENURE_TASK_QUEUE ?? TASK_QUEUE;
  const sync = program.command('sync').description('the scheduled HR roster sync');
  sync
    .command('run')
    .description('run the roster sync now and print its summary (JSON)')
    .option('--full', 'read the whole roster even when the policy says incremental')
    .action(async (opts: { full?: boolean }) =>
      withClient(async (client) => {
        const summary = (await runSyncNow(client, queue(), { full: opts.full === true })) as SyncSummary;
        out.write(`${JSON.stringify(summary, null, 2)}\n`);
        if (summary.held) process.exitCode = 3;
      }),
    );
  sync
    .command('schedule')
    .description("describe the sync's Temporal Schedule")
    .action(async () =>
      withClient(async (client) => {
        const d = await describeSyncSchedule(client, queue());
        if (!d) {
          process.stderr.write(
            `${JSON.stringify({ error: 'not_found', message: `no schedule ${syncScheduleId(queue())}: the policy has no sync section, or no worker started with it` })}\n`,
          );
          process.exitCode = 1;
          return;
        }
        out.write(`${JSON.stringify(d, null, 2)}\n`);
      }),
    );
}
