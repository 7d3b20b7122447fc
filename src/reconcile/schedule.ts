/**
 * The drift reconciliation as a Temporal Schedule, created or updated idempotently (worker start, `tenure setup`):
 * id `tenure-reconcile-<taskQueue>`, the policy's cron and time zone, one run at a time.
 */
import type { Client } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { ReconcilePolicy } from '../domain/policy-reconcile';
import type { DriftReport } from '../workflows/reconcile/types';
import { reconcileRunWorkflowId, reconcileScheduleId } from '../workflows/reconcile/types';

export { reconcileScheduleId };

export async function ensureReconcileSchedule(
  client: Client,
  taskQueue: string,
  reconcile: ReconcilePolicy,
): Promise<{ scheduleId: string; outcome: 'created' | 'updated' }> {
  const scheduleId = reconcileScheduleId(taskQueue);
  const spec = { cronExpressions: [reconcile.schedule.cron], timezone: reconcile.schedule.timeZone };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'reconcileWorkflow',
    workflowId: reconcileRunWorkflowId(taskQueue),
    taskQueue,
    args: [],
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      state: { paused: !reconcile.enabled, note: 'Tenure: drift reconciliation (HR against every system)' },
    });
    return { scheduleId, outcome: 'created' };
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule
    .getHandle(scheduleId)
    .update((prev) => ({ ...prev, spec, action, state: { ...prev.state, paused: !reconcile.enabled } }));
  return { scheduleId, outcome: 'updated' };
}

/** Runs a reconciliation now, as its own workflow (id per trigger), and answers its report. */
export async function runReconcileNow(client: Client, taskQueue: string): Promise<DriftReport> {
  return client.workflow.execute('reconcileWorkflow', {
    taskQueue,
    workflowId: `${reconcileRunWorkflowId(taskQueue)}-manual-${new Date().toISOString().replace(/[:.]/g, '')}`,
    args: [],
  }) as Promise<DriftReport>;
}
