/**
 * The daily sync as a Temporal Schedule, created or updated idempotently (worker start, `tenure setup`): id
 * `tenure-sync-<taskQueue>`, the policy's cron and time zone, one run at a time.
 */
import type { Client } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { SyncPolicy } from '../domain/policy-sync';
import { syncScheduleId } from '../workflows/sync/types';

export { syncScheduleId };

export async function ensureSyncSchedule(
  client: Client,
  taskQueue: string,
  sync: SyncPolicy,
): Promise<{ scheduleId: string; outcome: 'created' | 'updated' }> {
  const scheduleId = syncScheduleId(taskQueue);
  const spec = { cronExpressions: [sync.schedule.cron], timezone: sync.schedule.timeZone };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'syncWorkflow',
    workflowId: `tenure-sync-run-${taskQueue}`,
    taskQueue,
    args: [],
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      state: { paused: !sync.enabled, note: 'Tenure: daily HR roster sync' },
    });
    return { scheduleId, outcome: 'created' };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(scheduleId);
  await handle.update((prev) => ({ ...prev, spec, action, state: { ...prev.state, paused: !sync.enabled } }));
  return { scheduleId, outcome: 'updated' };
}

/** Runs the sync now, as its own workflow (id per trigger), and answers its summary. */
export async function runSyncNow(client: Client, taskQueue: string, o: { full?: boolean } = {}): Promise<unknown> {
  return client.workflow.execute('syncWorkflow', {
    taskQueue,
    workflowId: `tenure-sync-run-${taskQueue}-manual-${new Date().toISOString().replace(/[:.]/g, '')}`,
    args: [o.full === true ? { full: true } : {}],
  });
}
