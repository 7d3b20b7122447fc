/**
 * The daily sync as a Temporal Schedule, created or updated idempotently (worker start, `tenure setup`): id
 * `tenure-sync-<taskQueue>`, the policy's cron and time zone, one run at a time.
 */
import type { Client } from '@temporalio/client';
import { ensureSchedule } from '../app/schedules';
import type { SyncPolicy } from '../domain/policy-sync';
import { syncScheduleId } from '../workflows/sync/types';

export { syncScheduleId };

export function ensureSyncSchedule(
  client: Client,
  taskQueue: string,
  sync: SyncPolicy,
): Promise<{ scheduleId: string; outcome: 'created' | 'updated' }> {
  return ensureSchedule(client, {
    scheduleId: syncScheduleId(taskQueue),
    cron: sync.schedule.cron,
    timeZone: sync.schedule.timeZone,
    workflowType: 'syncWorkflow',
    workflowId: `tenure-sync-run-${taskQueue}`,
    taskQueue,
    enabled: sync.enabled,
    note: 'Tenure: daily HR roster sync',
  });
}

/** Runs the sync now, as its own workflow (id per trigger), and answers its summary. */
export async function runSyncNow(client: Client, taskQueue: string, o: { full?: boolean } = {}): Promise<unknown> {
  return client.workflow.execute('syncWorkflow', {
    taskQueue,
    workflowId: `tenure-sync-run-${taskQueue}-manual-${new Date().toISOString().replace(/[:.]/g, '')}`,
    args: [o.full === true ? { full: true } : {}],
  });
}
