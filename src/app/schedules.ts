/**
 * Tenure's fleet-wide jobs as Temporal Schedules (the daily roster sync, drift reconciliation): created, or updated
 * to the policy's cron, time zone and paused state, idempotently at every worker start and `tenure setup`. One run
 * at a time (an overlapping run is skipped); a run missed by at most an hour of downtime still starts.
 */
import type { Client } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';

export interface TenureSchedule {
  scheduleId: string;
  /** Five-field cron and the IANA time zone it is read in. */
  cron: string;
  timeZone: string;
  /** The workflow each run starts (no arguments), its id prefix and task queue. */
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  /** Created (or updated to) paused when false. */
  enabled: boolean;
  /** Shown in the Temporal UI's Schedules page. */
  note: string;
}

export async function ensureSchedule(
  client: Client,
  s: TenureSchedule,
): Promise<{ scheduleId: string; outcome: 'created' | 'updated' }> {
  const spec = { cronExpressions: [s.cron], timezone: s.timeZone };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: s.workflowType,
    workflowId: s.workflowId,
    taskQueue: s.taskQueue,
    args: [],
  };
  try {
    await client.schedule.create({
      scheduleId: s.scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      state: { paused: !s.enabled, note: s.note },
    });
    return { scheduleId: s.scheduleId, outcome: 'created' };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule
    .getHandle(s.scheduleId)
    .update((prev) => ({ ...prev, spec, action, state: { ...prev.state, paused: !s.enabled } }));
  return { scheduleId: s.scheduleId, outcome: 'updated' };
}
